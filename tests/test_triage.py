"""The triage layer: which messages are red flags, which get the checklist, and which it leaves alone.

The adversarial sets of tests/nlu/triage_*.yml are scored by `make triage-eval` (bot/nlu/triage_eval.py);
these tests pin the behaviour a reader of docs/triage.md expects, on the rules, on the Rasa component with
real `Message` objects, and through the trained model.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalise import normalise
from bot.nlu.red_flags import TRIAGE_KEY, RedFlagClassifier
from bot.nlu.triage import CHECK, NONE, RED, Triage

MODEL = Path(__file__).resolve().parent.parent / "models" / "current.tar.gz"


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage.from_file()


@pytest.mark.parametrize(
    "text, concept",
    [
        ("伤口一直在流血，按了也没用", "bleeding"),
        ("血流不止，纱布都湿透了", "bleeding"),
        ("术后一直出血正常吗", "bleeding"),
        ("发烧39度，刀口红肿", "fever_infection"),
        ("体温39.2", "fever_infection"),
        ("烧了两天了还不退", "fever_infection"),
        ("种牙后第三天 102F", "fever_infection"),
        ("心率130，一直出冷汗", "sepsis"),
        ("血压80/50", "sepsis"),
        ("突然喘不上气", "breathing"),
        ("血氧只有88", "breathing"),
        ("打完玻尿酸鼻尖发白", "skin_ischaemia"),
        ("打完玻尿酸额头出现网状的紫红色花纹", "skin_ischaemia"),
        ("左眼视力突然下降", "vision"),
        ("我妈刚才晕倒了", "consciousness"),
        ("我老公全身抽搐口吐白沫", "consciousness"),
        ("打完针嘴突然歪了，说话也不清楚", "stroke_signs"),
        ("头痛得要命还一直吐", "headache_vomiting"),
        ("隆胸后右边突然肿得很大，硬邦邦的，出冷汗", "haematoma"),
        ("刀口裂开了", "wound_dehiscence"),
        ("傷口裂開了", "wound_dehiscence"),
        ("全身过敏，喉咙发紧", "allergy"),
        ("抽脂后小腿肿痛，还喘不上气", "breathing"),
        ("肚子硬得像木板", "abdominal"),
        ("吃了止痛药也没用，越来越疼", "severe_pain"),
        ("我不想活了", "self_harm"),
        ("toutong 得要命，一直 outu", "headache_vomiting"),
        ("打完 filler 突然 face drooping，说话 slurred", "stroke_signs"),
    ],
)
def test_red_flags_are_recognised_with_their_concept(triage: Triage, text: str, concept: str) -> None:
    finding = triage.assess(text).finding
    assert finding is not None and finding.level == RED, text
    assert finding.concept == concept, (text, finding)


@pytest.mark.parametrize(
    "text",
    [
        "做双眼皮会出血多吗",
        "做吸脂会不会出血不止",
        "万一术后呼吸困难怎么办",
        "如果伤口裂开了要怎么处理",
        "隆鼻有没有失明的风险",
        "要是吸脂完腿肿了，是不是就是血栓啊",
        "没有呼吸困难，就是鼻子有点堵",
        "伤口不红肿，也没发烧，就是有点痒",
        "眼睛周围的淤青发紫了",
        "我想退款",
        "你们电话多少",
        "昨天烧到39.5，今天已经退了",
        "新闻说有人打玻尿酸失明了",
        "我闺蜜去年在别家做的双眼皮感染了，烧了好几天",
        "价格贵得我要吐血",
        "客服态度让我窒息",
    ],
)
def test_questions_negations_past_and_idioms_are_not_red_flags(triage: Triage, text: str) -> None:
    assert triage.assess(text).level != RED, text


@pytest.mark.parametrize("text", ["术后发低烧37度5，伤口有点疼", "脸上有点发白", "伤口有点渗血", "疼死了，但是还能忍"])
def test_a_doubtful_current_symptom_is_to_be_checked(triage: Triage, text: str) -> None:
    assert triage.assess(text).level == CHECK, text


def test_a_hypothetical_red_flag_is_remembered_as_scoped(triage: Triage) -> None:
    assessment = triage.assess("万一大出血怎么办")
    assert assessment.level == NONE
    assert {finding.concept for finding in assessment.scoped} == {"bleeding"}


def test_normalise_folds_traditional_full_width_and_case() -> None:
    assert normalise("傷口裂開，體溫３９度，ＢＯＴＯＸ") == "伤口裂开，体温39度，botox"


def test_a_triage_file_without_concepts_is_rejected(tmp_path: Path) -> None:
    document = Triage.from_file()
    assert document.concepts
    path = tmp_path / "triage.yml"
    text = (Path(__file__).resolve().parent.parent / "bot" / "nlu" / "triage.yml").read_text(encoding="utf-8")
    path.write_text(text.split("\nconcepts:")[0] + "\nconcepts: []\n", encoding="utf-8")
    with pytest.raises(ValueError):
        Triage.from_file(path)


def _classified(text: str, intent: str, confidence: float, ranking: List[Dict[str, Any]]) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set("intent_ranking", ranking, add_to_output=True)
    return message


def test_a_red_flag_overrides_a_fallback_keeps_the_ranking_and_names_the_concept(triage: Triage) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "report_postop_pain", "confidence": 0.4},
        {"name": "report_emergency", "confidence": 0.3},
        {"name": "request_refund", "confidence": 0.2},
    ]
    message = _classified("退钱！还有我现在喘不上气", "nlu_fallback", 0.45, ranking)

    RedFlagClassifier(triage).process([message])

    assert message.get("intent") == {"name": "report_emergency", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["report_emergency", "report_postop_pain", "request_refund"]
    assert message.get(TRIAGE_KEY) == {
        "level": "red", "concept": "breathing", "text": "喘不上气", "classifier_intent": "nlu_fallback"
    }
    assert {"entity": "red_flag", "value": "breathing", "extractor": "RedFlagClassifier"} in message.get("entities")


def test_a_classifier_emergency_that_is_only_hypothetical_is_overruled(triage: Triage) -> None:
    ranking = [{"name": "report_emergency", "confidence": 0.7}, {"name": "ask_procedure_info", "confidence": 0.2}]
    message = _classified("做隆鼻万一大出血怎么办", "report_emergency", 0.7, ranking)

    RedFlagClassifier(triage).process([message])

    assert message.get("intent")["name"] == "ask_procedure_info"
    assert message.get(TRIAGE_KEY)["level"] == "scoped"


def test_a_classifier_emergency_without_scoped_words_stands(triage: Triage) -> None:
    ranking = [{"name": "report_emergency", "confidence": 0.7}, {"name": "report_postop_pain", "confidence": 0.2}]
    message = _classified("我感觉整个人都不对劲了，快来人", "report_emergency", 0.7, ranking)

    RedFlagClassifier(triage).process([message])

    assert message.get("intent")["name"] == "report_emergency"
    assert message.get(TRIAGE_KEY)["concept"] == "classifier"


def test_a_doubtful_symptom_goes_to_the_checklist_keeping_the_classifier_intent(triage: Triage) -> None:
    ranking = [{"name": "report_postop_pain", "confidence": 0.8}, {"name": "ask_recovery", "confidence": 0.1}]
    message = _classified("伤口有点渗血", "report_postop_pain", 0.8, ranking)

    RedFlagClassifier(triage).process([message])

    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get(TRIAGE_KEY)["level"] == "check"
    assert message.get(TRIAGE_KEY)["classifier_intent"] == "report_postop_pain"


def test_a_general_question_is_left_to_the_classifier(triage: Triage) -> None:
    ranking = [{"name": "ask_recovery", "confidence": 0.9}, {"name": "report_emergency", "confidence": 0.05}]
    message = _classified("术后出血正常吗多久会停", "ask_recovery", 0.9, ranking)

    RedFlagClassifier(triage).process([message])

    assert message.get("intent")["name"] == "ask_recovery"
    assert message.get("intent_ranking") == ranking
    assert message.get(TRIAGE_KEY) is None


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
    assert parse[TRIAGE_KEY]["concept"] in {"wound_dehiscence", "bleeding"}


def test_the_trained_model_reads_traditional_characters(agent: Any) -> None:
    parse = _parse(agent, "呼吸困難，喘不過氣來")
    assert parse["intent"]["name"] == "report_emergency"
    assert parse["triage"]["concept"] == "breathing"


def test_the_paused_emergency_runs_the_steps_of_the_emergency_rule() -> None:
    import yaml

    from bot.rasa_runtime import PAUSED_EMERGENCY_ACTIONS

    rules = yaml.safe_load((MODEL.parent.parent / "data" / "rules" / "emergency.yml").read_text(encoding="utf-8"))
    (rule,) = rules["rules"]
    assert tuple(step["action"] for step in rule["steps"] if "action" in step) == PAUSED_EMERGENCY_ACTIONS
