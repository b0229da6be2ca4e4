"""The policy knowledge base: complete content, a loader Rasa never mistakes for training data,
reloads that take effect without a restart, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot import hospital, answers, policies, procedures
from bot.store import migrate
from tests.services import fresh_postgres_database

CANONICAL = {
    "双眼皮": "surgery", "眼袋": "surgery", "隆鼻": "surgery", "颞部填充": "surgery", "面部提升": "surgery",
    "隆下颌": "surgery", "丰胸": "surgery", "吸脂": "surgery", "疤痕修复": "surgery", "私密整形": "surgery",
    "激光祛斑": "skin", "脱毛": "skin", "洗眼线": "skin", "黄褐斑治疗": "skin", "光子嫩肤": "skin",
    "玻尿酸": "skin", "肉毒素": "skin", "牙齿美容": "dental",
}
# Tactics of the internal dispute manual (seed 002) the published policy must never contain.
STALLING = ("拖", "原则上不退", "尽量不退", "不要太着急表态", "缓缓", "下次来", "不能退费", "不退钱")


@pytest.fixture()
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture()
def snapshot(database: str) -> policies.PolicySnapshot:
    policies.load(database)
    return policies.current(database)


def test_every_procedure_has_its_category_and_every_topic(snapshot: policies.PolicySnapshot) -> None:
    catalog = {p.name: p.category for p in procedures.catalog(snapshot)}
    assert {name: catalog.get(name) for name in CANONICAL} == CANONICAL
    missing = [
        f"{name}.{topic}"
        for name in CANONICAL
        for topic in answers.PROCEDURE_TOPICS
        if not snapshot.get(f"procedures.{name}.{topic}")
    ]
    assert missing == []


def test_general_texts_cover_every_topic_for_procedures_without_their_own(snapshot: policies.PolicySnapshot) -> None:
    assert [t for t in answers.PROCEDURE_TOPICS if not snapshot.get(f"general.{t}")] == []
    assert procedures.category_of("其他", snapshot) == "other"
    assert procedures.category_of("不存在的项目", snapshot) == "other"


def test_the_refund_policy_is_complete_enough_to_act_on_without_calling_back(snapshot: policies.PolicySnapshot) -> None:
    text = answers.refund_policy_text(None, snapshot)
    for document in ("病历", "手术同意书", "缴费凭证", "发票", "身份证", "术前、术后照片", "银行卡"):
        assert document in text
    for time_frame in ("1 个工作日内", "7 个工作日内", "2 个工作日内", "10 个工作日内"):
        assert time_frame in text
    assert "实际支付总额 ÷ 购买总次数 × 未使用次数" in text and "不扣除“优惠差价”" in text
    assert "定金全额退还" in text
    for route in ("医患协商", "医疗纠纷人民调解委员会", "医疗损害鉴定", "诉讼", "12320", "12345"):
        assert route in text


def test_no_published_text_copies_the_stalling_tactics_of_the_internal_manual(snapshot: policies.PolicySnapshot) -> None:
    offending = [(key, word) for key in snapshot.keys() for word in STALLING if word in (snapshot.get(key) or "")]
    assert offending == []


def test_every_answer_is_one_message(snapshot: policies.PolicySnapshot) -> None:
    """Channels split a text into separate messages at blank lines; an answer has none."""
    for intent in answers.POLICY_INTENTS:
        for procedure in (*CANONICAL, "其他", None):
            assert "\n\n" not in answers.answer(intent, procedure, snapshot), (intent, procedure)


def test_an_asymmetry_answer_gives_the_time_frame_and_the_revision_policy_at_once(
    snapshot: policies.PolicySnapshot,
) -> None:
    text = answers.answer("complain_asymmetry", "双眼皮", snapshot)
    assert "「双眼皮」" in text
    assert "3–6 个月" in text and "1–3 个月" in text
    assert "【修复：时机与费用】" in text and "修复免费" in text
    assert "【退款】" in text


def test_a_procedure_without_its_own_texts_gets_the_general_ones_without_a_heading(
    snapshot: policies.PolicySnapshot,
) -> None:
    text = answers.answer("report_postop_pain", "其他", snapshot)
    assert text == "\n".join([snapshot.get("general.normal"), snapshot.get("general.infection")])


def test_a_refund_answer_for_a_procedure_starts_with_what_applies_to_it_then_the_whole_policy(
    snapshot: policies.PolicySnapshot,
) -> None:
    text = answers.answer("request_refund", "激光祛斑", snapshot)
    assert text.index(snapshot.get("procedures.激光祛斑.refund")) < text.index("【退款政策全文】")
    assert text.endswith(snapshot.get("refund.disputes"))


def test_every_prompt_fills_in_with_the_values_the_actions_give() -> None:
    entries = {e.key: e.body for e in policies.read_directory()}
    values = dict(
        kind="k", procedure="p", surgery_time="t", problem_description="d", phone="138****5678",
        digits=10, max_chars=50, number="TK202611230001", status="s", history="h", next_step="n", topic="t",
        privacy_url="https://hospital.example/privacy", ticket_years=3,
        minutes=10, code="482913", count=3,
        **hospital.load().facts(),
    )
    for key, body in entries.items():
        if key.startswith("prompts."):
            body.format(**values)
    assert set(re.findall(r"{(\w+)}", entries["prompts.ask.ticket_confirmed"])) == {
        "kind", "procedure", "surgery_time", "problem_description", "phone",
    }


def test_rasa_never_reads_a_policy_file_as_training_data() -> None:
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.data import is_nlu_file

    files = sorted(policies.POLICY_DIR.glob("*.yml"))
    assert files
    assert [f.name for f in files if YAMLStoryReader.is_stories_file(f) or is_nlu_file(str(f))] == []


def test_a_file_that_rasa_would_read_as_training_data_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("faq:\n  rules: 随时可以问\n", encoding="utf-8")
    with pytest.raises(policies.PolicyFileError, match="bad.yml:2"):
        policies.read_directory(tmp_path)


def test_a_key_defined_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("refund:\n  deposit: 一\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("refund:\n  deposit: 二\n", encoding="utf-8")
    with pytest.raises(policies.PolicyFileError, match="refund.deposit is already defined in .*a.yml"):
        policies.read_directory(tmp_path)


def test_broken_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("refund: [unclosed\n", encoding="utf-8")
    with pytest.raises(policies.PolicyFileError, match="broken.yml: not valid YAML"):
        policies.read_directory(tmp_path)


def test_a_file_the_project_does_not_know_is_loaded_under_its_own_key(database: str, tmp_path: Path) -> None:
    (tmp_path / "hospital.yml").write_text(
        "hospital:\n  on_call_line: 400-000-0120\n  open: true\nstaff_service:\n  days: [1, 2, 7]\n"
        "  shifts:\n    - {from: '09:00', to: '21:00'}\n",
        encoding="utf-8",
    )
    policies.load(database, tmp_path)
    snapshot = policies.current(database)
    assert snapshot.section("hospital") == {"on_call_line": "400-000-0120", "open": "true"}
    assert snapshot.section("staff_service") == {"days": ["1", "2", "7"], "shifts": [{"from": "09:00", "to": "21:00"}]}


def _copy_policies(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(policies.POLICY_DIR, directory)
    return directory


def test_a_reload_takes_effect_for_a_running_reader_without_restart(database: str, tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    policies.load(database, directory)
    before = policies.current(database)
    assert "30 天内" not in before.get("refund.deposit")

    deposit = directory / "refund.yml"
    deposit.write_text(
        deposit.read_text(encoding="utf-8").replace("定金全额退还；", "定金在 30 天内全额退还；", 1), encoding="utf-8"
    )
    (directory / "tickets.yml").unlink()
    report = policies.load(database, directory)

    after = policies.current(database)
    assert report.updated == 1 and report.removed == len(before.keys("tickets")) and report.added == 0
    assert "30 天内" in after.get("refund.deposit")
    assert after.get("tickets.status.open") is None


def test_loading_unchanged_files_changes_nothing_and_keeps_the_cache(database: str) -> None:
    first = policies.load(database)
    snapshot = policies.current(database)
    second = policies.load(database)
    assert first.added == first.total > 200
    assert (second.added, second.updated, second.removed) == (0, 0, 0)
    assert policies.current(database) is snapshot


def test_the_command_line_loads_the_policies(database: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot.__main__ import main

    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["policies", "load"]) == 0
    assert re.match(r"policies: \d+ added, 0 updated, 0 removed, \d+ in total", capsys.readouterr().out)
    assert policies.current(database).get("refund.steps")


def test_policies_load_and_reload_on_postgresql(tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        directory = _copy_policies(tmp_path)
        policies.load(url, directory)
        assert answers.answer("complain_scar", "眼袋", policies.current(url)).startswith("关于「眼袋」")
        (directory / "general.yml").unlink()
        report = policies.load(url, directory)
        assert report.removed > 0
        assert policies.current(url).get("general.scar") is None
