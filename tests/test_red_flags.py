"""The red-flag safety net: which messages it forces to report_emergency, and which it leaves alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.red_flags import RED_FLAG_KEY, RedFlagClassifier, RedFlagRules

MODEL = Path(__file__).resolve().parent.parent / "models" / "current.tar.gz"


@pytest.fixture(scope="module")
def rules() -> RedFlagRules:
    return RedFlagRules.from_file()


@pytest.mark.parametrize(
    "text",
    [
        "伤口一直在流血，按了也没用",
        "鼻子里的血止不住",
        "血流不止，纱布都湿透了",
        "术后一直出血正常吗",
        "发烧39度，刀口红肿",
        "发高烧，伤口流脓了",
        "突然喘不上气",
        "呼吸有点困难",
        "打完玻尿酸鼻尖发白",
        "注射后那块皮肤变紫了",
        "嘴唇发紫",
        "打完针眼睛看不清东西",
        "左眼视力突然下降",
        "我妈刚才晕倒了",
        "全身过敏，喉咙发紧",
        "刀口裂开了",
        "剧痛难忍",
        "疼得受不了了",
        "吃了止痛药也没用，越来越疼",
        "我要退款！但先说伤口裂开了一直流血",
    ],
)
def test_red_flags_are_recognised(rules: RedFlagRules, text: str) -> None:
    assert rules.find(text) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "术后出血正常吗多久会停",
        "做双眼皮会出血多吗",
        "做吸脂会不会出血不止",
        "万一术后呼吸困难怎么办",
        "如果伤口裂开了要怎么处理",
        "隆鼻有没有失明的风险",
        "没有呼吸困难，就是鼻子有点堵",
        "伤口不红肿，也没发烧，就是有点痒",
        "术后发低烧37度5，伤口有点疼",
        "眼睛周围的淤青发紫了",
        "疤痕有点发白",
        "疼死了，但是还能忍",
        "我想退款",
        "你们电话多少",
    ],
)
def test_questions_negations_and_ordinary_symptoms_are_not_red_flags(rules: RedFlagRules, text: str) -> None:
    assert rules.find(text) is None, text


def test_the_flag_names_the_rule_and_the_words(rules: RedFlagRules) -> None:
    flag = rules.find("打完针以后呼吸困难")
    assert flag is not None
    assert flag.name == "breathing_difficulty"
    assert flag.text == "呼吸困难"


def test_fever_alone_or_pus_alone_is_not_the_infection_flag(rules: RedFlagRules) -> None:
    assert rules.find("有点发烧") is None
    assert rules.find("伤口有一点脓") is None
    assert rules.find("有点发烧，伤口有一点脓") is not None


def test_a_rules_file_without_flags_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text('clause_separators: "[，。]"\nflags: []\n', encoding="utf-8")
    with pytest.raises(ValueError):
        RedFlagRules.from_file(path)


def _classified(text: str, intent: str, confidence: float, ranking: list) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set("intent_ranking", ranking, add_to_output=True)
    return message


def test_the_component_overrides_a_fallback_and_keeps_the_ranking_below(rules: RedFlagRules) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "report_postop_pain", "confidence": 0.4},
        {"name": "report_emergency", "confidence": 0.3},
        {"name": "request_refund", "confidence": 0.2},
    ]
    message = _classified("退钱！还有我现在喘不上气", "nlu_fallback", 0.45, ranking)

    RedFlagClassifier(rules).process([message])

    assert message.get("intent") == {"name": "report_emergency", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == [
        "report_emergency",
        "report_postop_pain",
        "request_refund",
    ]
    assert message.get(RED_FLAG_KEY) == {
        "name": "breathing_difficulty",
        "text": "喘不上气",
        "classifier_intent": "nlu_fallback",
    }
    assert RED_FLAG_KEY in message.as_dict(only_output_properties=True)


def test_the_component_leaves_other_messages_untouched(rules: RedFlagRules) -> None:
    ranking = [{"name": "ask_recovery", "confidence": 0.9}, {"name": "report_emergency", "confidence": 0.05}]
    message = _classified("术后出血正常吗多久会停", "ask_recovery", 0.9, ranking)

    RedFlagClassifier(rules).process([message])

    assert message.get("intent")["name"] == "ask_recovery"
    assert message.get("intent_ranking") == ranking
    assert message.get(RED_FLAG_KEY) is None


@pytest.fixture(scope="module")
def agent() -> Iterator[Any]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' (make test does)")
    from rasa.core.agent import Agent

    yield Agent.load(str(MODEL))


def _parse(agent: Any, text: str) -> Dict[str, Any]:
    return asyncio.run(agent.parse_message(text))


def test_the_trained_model_forces_emergency_over_a_refund_demand(agent: Any) -> None:
    parse = _parse(agent, "我要退款，还有伤口裂开了一直流血")
    assert parse["intent"]["name"] == "report_emergency"
    assert parse[RED_FLAG_KEY]["name"] in {"wound_dehiscence", "bleeding_that_does_not_stop"}


def test_the_trained_model_leaves_a_general_bleeding_question_to_the_classifier(agent: Any) -> None:
    parse = _parse(agent, "术后出血正常吗多久会停")
    assert RED_FLAG_KEY not in parse
    assert parse["intent"]["name"] != "report_emergency"
