"""The NLU inbox (issue 13): collected from Rasa's real events table, reviewed by trainers, exported as
training data that follows the rules of tests/test_nlu_data.py."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import httpx
import jieba
import pytest
import yaml
from fastapi.testclient import TestClient
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from sqlalchemy import select

from bot import nlu_export, nlu_inbox
from bot import staff as accounts
from bot.__main__ import main
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.nlu.payload_intents import PAYLOAD_ONLY_INTENTS
from bot.roles import Permission, Role
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import CollectCursor, Handoff, NluInboxItem, Staff
from tests.test_console_api import FakeRasa, login

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
CANONICAL_PROCEDURES = {
    "双眼皮", "眼袋", "隆鼻", "颞部填充", "面部提升", "隆下颌", "丰胸", "吸脂", "疤痕修复",
    "私密整形", "激光祛斑", "脱毛", "洗眼线", "黄褐斑治疗", "光子嫩肤", "玻尿酸", "肉毒素", "牙齿美容",
}
T0 = 1_790_000_000.0  # a moment in 2026, as Rasa stores it


# ---------------------------------------------------------------- Rasa's events, written by Rasa's store


def parse(text: str, intent: str, confidence: float, ranking: Optional[List[Tuple[str, float]]] = None,
          triage: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Parse data as Rasa's processor stores it with a user event (bot/nlu/red_flags.py adds `triage`)."""
    data: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking or [(intent, confidence)]],
    }
    if triage is not None:
        data["triage"] = triage
    return data


def user(text: str, timestamp: float, parse_data: Dict[str, Any]) -> UserUttered:
    return UserUttered(text, parse_data["intent"], parse_data["entities"], parse_data, timestamp=timestamp, input_channel="rest")


def store_conversation(url: str, conversation_id: str, events: list) -> None:
    """The conversation saved by Rasa's own SQLTrackerStore into the `events` table of `url` (SQLite)."""
    store = SQLTrackerStore(dialect="sqlite", db=url[len("sqlite:///"):])
    try:
        asyncio.run(store.save(DialogueStateTracker.from_events(conversation_id, events)))
    finally:
        store.engine.dispose()


def conversation(*turns: Tuple[str, float, Dict[str, Any]]) -> list:
    events: list = []
    for text, timestamp, parse_data in turns:
        events += [
            ActionExecuted("action_listen", timestamp=timestamp - 0.5),
            user(text, timestamp, parse_data),
            BotUttered("……", timestamp=timestamp + 0.2),
        ]
    return events


FALLBACK = ("呃呃呃那个啥", T0 + 10, parse("呃呃呃那个啥", "nlu_fallback", 0.4, [("nlu_fallback", 0.4), ("check_ticket_status", 0.31), ("affirm", 0.2)]))
CHECKLIST = ("伤口有点渗血正常吗", T0 + 20, parse(
    "伤口有点渗血正常吗", "nlu_fallback", 1.0, [("report_postop_pain", 0.7)],
    triage={"level": "check", "concept": "bleeding", "text": "渗血", "classifier_intent": "report_postop_pain"},
))
LOW = ("那个玻尿酸的事", T0 + 30, parse("那个玻尿酸的事", "ask_procedure_info", 0.52, [("ask_procedure_info", 0.52), ("ask_recovery", 0.3)]))
SURE = ("你好", T0 + 40, parse("你好", "greet", 0.99))
BUTTON = ("/request_human", T0 + 50, parse("/request_human", "request_human", 1.0))
RED_FLAG = ("伤口一直流血止不住", T0 + 60, parse(
    "伤口一直流血止不住", "report_emergency", 1.0, triage={"level": "red", "concept": "bleeding", "text": "流血止不住", "classifier_intent": "report_postop_pain"},
))


# ---------------------------------------------------------------- the console with staff of every role


@pytest.fixture()
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        accounts.create_staff(session, "li", PASSWORD, "李护士")
        accounts.create_staff(session, "zhao", PASSWORD, "赵训练员", role=Role.TRAINER)
        accounts.create_staff(session, "boss", PASSWORD, "主管", role=Role.ADMIN)
    return url


@pytest.fixture()
def client(database) -> Iterator[TestClient]:
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    rasa = FakeRasa()
    yield TestClient(create_app(config, RasaClient(config, transport=httpx.MockTransport(rasa.handle))))


def inbox(client: TestClient, who: Dict[str, str], status: Optional[str] = "open") -> List[Dict[str, Any]]:
    response = client.get("/api/nlu/inbox" + (f"?status={status}" if status else ""), headers=who)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- collection


def test_the_inbox_collects_misunderstood_messages_from_rasas_events_newest_first(client, database) -> None:
    store_conversation(database, "patient-a", conversation(FALLBACK, CHECKLIST, LOW, SURE, BUTTON, RED_FLAG))
    zhao = login(client, "zhao")

    items = inbox(client, zhao)

    assert [(i["text"], i["reason"]) for i in items] == [("那个玻尿酸的事", "low_confidence"), ("呃呃呃那个啥", "fallback")]
    low, fallback = items
    # The classifier's own guess under the fallback is what a trainer confirms.
    assert (fallback["predicted_intent"], fallback["confidence"]) == ("check_ticket_status", 0.31)
    assert (low["predicted_intent"], low["confidence"]) == ("ask_procedure_info", 0.52)
    assert fallback["conversation_id"] == "patient-a" and fallback["timestamp"] == FALLBACK[1]
    assert fallback["time"].startswith(datetime.fromtimestamp(FALLBACK[1], tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    assert fallback["status"] == "open" and fallback["reviewed_intent"] is None


def test_collecting_again_adds_nothing_and_later_messages_are_read_incrementally(client, database) -> None:
    store_conversation(database, "patient-a", conversation(FALLBACK, SURE))
    zhao = login(client, "zhao")
    assert len(inbox(client, zhao)) == 1
    assert len(inbox(client, zhao)) == 1
    with session_scope(database) as session:
        first = session.get(CollectCursor, nlu_inbox.CURSOR_NAME)
        assert first.last_timestamp == SURE[1] and first.last_event_id == 5  # listen, user, bot, listen, user

    later = ("嗯嗯那个吧", T0 + 3600, parse("嗯嗯那个吧", "affirm", 0.45))
    store_conversation(database, "patient-b", conversation(later))
    assert [i["text"] for i in inbox(client, zhao)] == ["嗯嗯那个吧", "呃呃呃那个啥"]
    with session_scope(database) as session:
        cursor = session.get(CollectCursor, nlu_inbox.CURSOR_NAME)
        assert (cursor.last_event_id, cursor.last_timestamp) == (8, later[1])
        assert session.query(NluInboxItem).count() == 2


def test_a_collection_reads_only_the_events_after_the_last_one_collected(client, database, monkeypatch) -> None:
    monkeypatch.setattr(nlu_inbox, "OVERLAP_EVENTS", 0)
    store_conversation(database, "patient-a", conversation(FALLBACK, SURE))
    zhao = login(client, "zhao")
    assert len(inbox(client, zhao)) == 1
    read: List[int] = []
    original = nlu_inbox._user_events
    monkeypatch.setattr(nlu_inbox, "_user_events", lambda session, after: read.append(after) or original(session, after))
    store_conversation(database, "patient-b", conversation(LOW))
    assert len(inbox(client, zhao)) == 2
    assert read == [5]  # from the id of the last user event, through the events table's primary key


def test_a_message_stored_after_a_later_one_was_collected_is_still_collected(client, database) -> None:
    """Rasa stores a turn when it ends: a slow turn's message may land after a later one was collected."""
    store_conversation(database, "fast", conversation(("好的", T0 + 100, parse("好的", "affirm", 0.98))))
    zhao = login(client, "zhao")
    assert inbox(client, zhao) == []
    store_conversation(database, "slow", conversation(("那个啥呢", T0 + 90, parse("那个啥呢", "nlu_fallback", 0.4, [("greet", 0.3)]))))
    assert [i["text"] for i in inbox(client, zhao)] == ["那个啥呢"]


def test_the_message_before_a_fallback_handoff_is_marked_handoff(client, database) -> None:
    second = ("就是那个啥嘛", T0 + 70, parse("就是那个啥嘛", "nlu_fallback", 0.4, [("inform", 0.33)]))
    store_conversation(database, "twice", conversation(FALLBACK, second))
    # A confident message before a handoff is also kept, when the handoff says the bot did not understand.
    sure_then_handoff = ("能帮我看看吗", T0 + 80, parse("能帮我看看吗", "request_revision", 0.8))
    store_conversation(database, "other", conversation(sure_then_handoff))
    with session_scope(database) as session:
        session.add(Handoff(conversation_id="twice", channel="rest", reason="fallback", priority="normal",
                            created_at=datetime.fromtimestamp(second[1] + 1, tz=timezone.utc)))
        session.add(Handoff(conversation_id="other", channel="rest", reason="fallback", priority="normal",
                            created_at=datetime.fromtimestamp(sure_then_handoff[1] + 1, tz=timezone.utc)))
    items = inbox(client, login(client, "zhao"))
    assert [(i["text"], i["reason"]) for i in items] == [
        ("能帮我看看吗", "handoff"), ("就是那个啥嘛", "handoff"), ("呃呃呃那个啥", "fallback"),
    ]


def test_a_database_without_rasas_events_has_an_empty_inbox(client) -> None:
    assert inbox(client, login(client, "zhao"), status=None) == []


# ---------------------------------------------------------------- roles


def test_only_trainers_and_admins_review(client, database) -> None:
    store_conversation(database, "patient-a", conversation(FALLBACK))
    li, zhao, boss = login(client, "li"), login(client, "zhao"), login(client, "boss")
    assert "train" not in client.get("/api/me", headers=li).json()["permissions"]
    assert client.get("/api/me", headers=zhao).json()["permissions"] == ["train"]
    assert "train" in client.get("/api/me", headers=boss).json()["permissions"]  # an admin reviews too

    item_id = inbox(client, zhao)[0]["id"]
    for method, path, body in [
        ("GET", "/api/nlu/inbox", None),
        ("GET", "/api/nlu/options", None),
        ("POST", f"/api/nlu/inbox/{item_id}", {"action": "dismiss"}),
    ]:
        response = client.request(method, path, headers=li, json=body)
        assert response.status_code == 403, (path, response.text)
        assert "训练员" in response.json()["detail"]
    assert inbox(client, boss)[0]["id"] == item_id
    assert client.request("GET", "/api/nlu/inbox").status_code == 401


def test_the_options_are_the_domains_intents_with_chinese_labels_and_the_canonical_procedures(client) -> None:
    options = client.get("/api/nlu/options", headers=login(client, "zhao")).json()
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert [i["name"] for i in options["intents"]] == [i for i in domain["intents"] if i not in PAYLOAD_ONLY_INTENTS]
    labels = {i["name"]: i["label"] for i in options["intents"]}
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in labels.values()), labels
    buttons = {b["payload"].lstrip("/"): b["title"] for b in domain["responses"]["utter_ask_rephrase"][0]["buttons"]}
    assert all(labels[intent] == title for intent, title in buttons.items())
    assert set(options["procedures"]) == CANONICAL_PROCEDURES and len(options["procedures"]) == 18
    assert options["low_confidence"] == nlu_inbox.LOW_CONFIDENCE == 0.6


# ---------------------------------------------------------------- review


def test_confirm_correct_and_dismiss(client, database) -> None:
    other = ("做那个眼睛的埋线多少", T0 + 15, parse("做那个眼睛的埋线多少", "ask_recovery", 0.5))
    third = ("嗯……", T0 + 25, parse("嗯……", "nlu_fallback", 0.4, [("affirm", 0.35)]))
    store_conversation(database, "patient-a", conversation(FALLBACK, other, third))
    zhao = login(client, "zhao")
    by_text = {i["text"]: i["id"] for i in inbox(client, zhao)}

    confirmed = client.post(f"/api/nlu/inbox/{by_text['嗯……']}", headers=zhao, json={"action": "confirm"}).json()
    assert (confirmed["status"], confirmed["reviewed_intent"], confirmed["reviewed_by"]) == ("confirmed", "affirm", "zhao")
    corrected = client.post(f"/api/nlu/inbox/{by_text['做那个眼睛的埋线多少']}", headers=zhao,
                            json={"action": "correct", "intent": "ask_procedure_info", "procedure": "双眼皮"}).json()
    assert (corrected["status"], corrected["reviewed_intent"], corrected["reviewed_procedure"]) == ("corrected", "ask_procedure_info", "双眼皮")
    assert corrected["reviewed_at"] is not None
    dismissed = client.post(f"/api/nlu/inbox/{by_text['呃呃呃那个啥']}", headers=zhao, json={"action": "dismiss"}).json()
    assert (dismissed["status"], dismissed["reviewed_intent"]) == ("dismissed", None)

    assert inbox(client, zhao) == []
    assert [i["text"] for i in inbox(client, zhao, "corrected")] == ["做那个眼睛的埋线多少"]
    assert len(inbox(client, zhao, status=None)) == 3
    # A trainer may change their mind: the last review counts.
    again = client.post(f"/api/nlu/inbox/{by_text['呃呃呃那个啥']}", headers=zhao,
                        json={"action": "correct", "intent": "out_of_scope", "procedure": ""}).json()
    assert (again["status"], again["reviewed_intent"], again["reviewed_procedure"]) == ("corrected", "out_of_scope", None)


@pytest.mark.parametrize(
    "body, status, needle",
    [
        ({"action": "correct", "intent": "make_coffee"}, 422, "make_coffee"),
        ({"action": "correct", "intent": "nlu_fallback"}, 422, "nlu_fallback"),
        ({"action": "correct"}, 422, "意图"),
        ({"action": "correct", "intent": "ask_procedure_info", "procedure": "重睑"}, 422, "重睑"),
        ({"action": "confirm", "intent": "greet"}, 422, "更正"),
        ({"action": "approve"}, 422, "action"),
    ],
)
def test_bad_reviews_are_refused_and_change_nothing(client, database, body, status, needle) -> None:
    store_conversation(database, "patient-a", conversation(FALLBACK))
    zhao = login(client, "zhao")
    item_id = inbox(client, zhao)[0]["id"]
    response = client.post(f"/api/nlu/inbox/{item_id}", headers=zhao, json=body)
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]
    assert inbox(client, zhao)[0]["status"] == "open"


def test_a_message_without_a_prediction_cannot_be_confirmed_and_unknown_ids_are_404(client, database) -> None:
    store_conversation(database, "p", conversation(("？？？", T0, parse("？？？", "nlu_fallback", 0.4, [("nlu_fallback", 0.4)]))))
    zhao = login(client, "zhao")
    (item,) = inbox(client, zhao)
    assert item["predicted_intent"] is None
    assert client.post(f"/api/nlu/inbox/{item['id']}", headers=zhao, json={"action": "confirm"}).status_code == 422
    assert client.post("/api/nlu/inbox/9999", headers=zhao, json={"action": "dismiss"}).status_code == 404
    assert client.post("/api/nlu/inbox/0", headers=zhao, json={"action": "dismiss"}).status_code == 422


# ---------------------------------------------------------------- flagging from the conversation page


def test_any_staff_member_flags_a_patient_message_of_the_transcript(client, database) -> None:
    store_conversation(database, "patient-a", conversation(SURE, LOW))
    li, zhao = login(client, "li"), login(client, "zhao")
    # The conversation page shows the transcript's lines with Rasa's timestamps (its flag button sends one).
    transcript_timestamp = float(repr(SURE[1]))

    flagged = client.post("/api/nlu/flag", headers=li, json={"conversation_id": "patient-a", "timestamp": transcript_timestamp})
    assert flagged.status_code == 200, flagged.text
    assert (flagged.json()["text"], flagged.json()["reason"], flagged.json()["flagged_by"]) == ("你好", "flagged", "li")
    assert (flagged.json()["predicted_intent"], flagged.json()["confidence"]) == ("greet", 0.99)
    again = client.post("/api/nlu/flag", headers=li, json={"conversation_id": "patient-a", "timestamp": SURE[1]})
    assert again.json()["id"] == flagged.json()["id"]

    # A message already waiting as low-confidence becomes flagged; a reviewed one keeps its review.
    items = inbox(client, zhao)
    assert [(i["text"], i["reason"]) for i in items] == [("你好", "flagged"), ("那个玻尿酸的事", "low_confidence")]
    low_id = items[1]["id"]
    assert client.post("/api/nlu/flag", headers=li, json={"conversation_id": "patient-a", "timestamp": LOW[1]}).json()["reason"] == "flagged"
    client.post(f"/api/nlu/inbox/{low_id}", headers=zhao, json={"action": "dismiss"})
    assert client.post("/api/nlu/flag", headers=li, json={"conversation_id": "patient-a", "timestamp": LOW[1]}).json()["status"] == "dismissed"


@pytest.mark.parametrize("body", [{"conversation_id": "patient-a", "timestamp": T0 + 12345}, {"conversation_id": "nobody", "timestamp": SURE[1]}])
def test_flagging_a_message_that_does_not_exist_is_404(client, database, body) -> None:
    store_conversation(database, "patient-a", conversation(SURE))
    response = client.post("/api/nlu/flag", headers=login(client, "li"), json=body)
    assert response.status_code == 404 and "消息" in response.json()["detail"]


def test_the_transcript_gives_each_line_its_rasa_timestamp(client, database) -> None:
    rasa_events = [{"event": "user", "text": "你好", "timestamp": SURE[1]}, {"event": "bot", "text": "您好", "timestamp": SURE[1] + 0.3}]
    config = ConsoleConfig(database_url=database, rasa_url="http://rasa.test", rasa_token="secret")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"events": rasa_events}))
    with TestClient(create_app(config, RasaClient(config, transport=transport))) as other:
        lines = other.get("/api/conversations/patient-a", headers=login(other, "li")).json()
    assert [(line["role"], line["timestamp"]) for line in lines] == [("patient", SURE[1]), ("bot", SURE[1] + 0.3)]


# ---------------------------------------------------------------- export


def review_directly(url: str, reviews: List[Tuple[str, str, Optional[str], Optional[str]]]) -> None:
    """(text, action, intent, procedure) reviewed by the trainer, in this order."""
    with session_scope(url) as session:
        trainer = session.scalars(select(Staff).where(Staff.username == "zhao")).one()
        for index, (text, action, intent, procedure) in enumerate(reviews):
            item = NluInboxItem(conversation_id=f"c{index}", event_timestamp=T0 + index, text=text,
                                predicted_intent=intent if action == "confirm" else "inform", confidence=0.3, reason="fallback")
            session.add(item)
            session.flush()
            nlu_inbox.review(session, item.id, action, trainer, intent if action == "correct" else None, procedure,
                             now=datetime.now(timezone.utc) + timedelta(seconds=index))


def load_examples(path: Path) -> list:
    return RasaYAMLReader().read(str(path)).intent_examples


def jieba_boundaries(text: str) -> Tuple[set, set]:
    for path in sorted((ROOT / "data" / "jieba").iterdir()):
        jieba.load_userdict(str(path))
    tokens = list(jieba.tokenize(text))
    return {start for _, start, _ in tokens}, {end for _, _, end in tokens}


def test_export_writes_the_reviewed_examples_as_rasa_nlu_data_that_follows_the_annotation_rules(database, tmp_path, capsys, monkeypatch) -> None:
    training = {m.get("text"): m.get("intent") for p in sorted((ROOT / "data" / "nlu").glob("*.yml"))
                for m in load_examples(p)}
    holdout_text = load_examples(ROOT / "tests" / "nlu" / "holdout.yml")[0].get("text")
    trained_text, trained_intent = next((t, i) for t, i in training.items() if "[" not in t and len(t) > 4)
    other_intent = "thank" if trained_intent != "thank" else "greet"
    review_directly(database, [
        ("埋线的那个多少钱呀我看看", "correct", "ask_procedure_info", "双眼皮"),
        ("我想问问瘦脸针打完能不能\n喝酒", "correct", "ask_recovery", None),
        ("帮我查下 手机13912345678 的单子", "correct", "check_ticket_status", None),
        ("呃呃呃那个啥", "correct", "out_of_scope", None),
        ("呃呃呃 那个啥！", "correct", "out_of_scope", None),  # the same text again
        ("嗯嗯嗯那个", "confirm", "affirm", None),
        ("不用理我", "dismiss", None, None),
        (holdout_text, "correct", "inform", None),  # the hold-out must stay unseen
        (trained_text, "correct", other_intent, None),  # would contradict the training data
    ])
    out = tmp_path / "reviewed.yml"
    monkeypatch.setenv("DATABASE_URL", database)

    assert main(["nlu", "export", "--out", str(out)]) == 0

    printed = capsys.readouterr().out
    assert "Wrote 5 examples of 5 intents" in printed, printed
    assert "hold-out" in printed and "another intent" in printed
    written = out.read_text(encoding="utf-8")
    header = written.split("version:")[0]
    assert header.startswith("# Generated by `python -m bot nlu export`") and "staff" in header
    assert "13912345678" not in written, "a patient's phone number went into the training data"
    examples = load_examples(out)
    by_text = {m.get("text"): m for m in examples}
    assert {m.get("text"): m.get("intent") for m in examples} == {
        "埋线的那个多少钱呀我看看": "ask_procedure_info",
        "我想问问瘦脸针打完能不能 喝酒": "ask_recovery",
        f"帮我查下 手机{nlu_export.PHONE_PLACEHOLDER} 的单子": "check_ticket_status",
        "呃呃呃 那个啥！": "out_of_scope",
        "嗯嗯嗯那个": "affirm",
    }
    entities = {(m.get("text"), e["entity"], m.get("text")[e["start"]:e["end"]], e["value"])
                for m in examples for e in m.get("entities") or []}
    assert ("埋线的那个多少钱呀我看看", "procedure", "埋线", "双眼皮") in entities
    assert ("我想问问瘦脸针打完能不能 喝酒", "procedure", "瘦脸针", "肉毒素") in entities
    assert (f"帮我查下 手机{nlu_export.PHONE_PLACEHOLDER} 的单子", "phone_number", nlu_export.PHONE_PLACEHOLDER, nlu_export.PHONE_PLACEHOLDER) in entities
    # The rules of tests/test_nlu_data.py.
    for message in examples:
        starts, ends = jieba_boundaries(message.get("text"))
        for entity in message.get("entities") or []:
            assert entity["start"] in starts and entity["end"] in ends, (message.get("text"), entity)
            if entity["entity"] == "procedure":
                assert entity["value"] in CANONICAL_PROCEDURES
    assert holdout_text not in by_text and trained_text not in by_text
    # One block per intent, examples sorted; exporting again gives the same file.
    assert [line for line in written.splitlines() if "- intent:" in line] == sorted(
        line for line in written.splitlines() if "- intent:" in line)
    assert main(["nlu", "export", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == written


def test_an_annotation_that_would_cut_a_jieba_token_is_left_out() -> None:
    knowledge = nlu_export.load_knowledge()
    tokens = nlu_export.Tokens()
    # Jieba reads 吸|脂肪: "吸脂" would end inside a token, so the text stays plain.
    assert tokens.boundaries("吸脂肪多吗") == ({0, 1, 3, 4}, {1, 3, 4, 5})
    assert nlu_export.annotate("吸脂肪多吗", "吸脂", knowledge, tokens) == "吸脂肪多吗"
    assert nlu_export.annotate("吸脂多吗", None, knowledge, tokens) == "[吸脂](procedure)多吗"
    # A generic synonym (not in the lookup table) is annotated only for the procedure the trainer chose.
    assert nlu_export.annotate("全切恢复多久", None, knowledge, tokens) == "全切恢复多久"
    assert nlu_export.annotate("全切恢复多久", "双眼皮", knowledge, tokens) == "[全切](procedure:双眼皮)恢复多久"


def test_a_retrieval_intent_gets_the_predicted_sub_intent_or_its_general_one() -> None:
    knowledge = nlu_export.Knowledge(
        trained={}, sub_intents={"ask_procedure_info": {"ask_procedure_info/price", "ask_procedure_info/general"}},
        holdout=[], triage=[], surfaces={}, synonyms={}, regexes=[],
    )
    confirmed = NluInboxItem(text="多钱", predicted_intent="ask_procedure_info", predicted_response_key="ask_procedure_info/price",
                             reviewed_intent="ask_procedure_info", status="confirmed")
    corrected = NluInboxItem(text="这个项目怎么样", predicted_intent="ask_recovery", reviewed_intent="ask_procedure_info", status="corrected")
    plain = NluInboxItem(text="谢啦", predicted_intent="thank", reviewed_intent="thank", status="confirmed")
    examples, skipped = nlu_export.build([confirmed, corrected, plain], knowledge, nlu_export.Tokens())
    assert examples == {"ask_procedure_info/price": ["多钱"], "ask_procedure_info/general": ["这个项目怎么样"], "thank": ["谢啦"]}
    assert not skipped


def test_an_empty_inbox_writes_a_file_rasa_loads_with_no_examples(database, tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "nlu" / "reviewed.yml"
    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["nlu", "export", "--out", str(out)]) == 0
    assert "Wrote 0 examples of 0 intents" in capsys.readouterr().out
    data = RasaYAMLReader().read(str(out))
    assert data.is_empty() and yaml.safe_load(out.read_text(encoding="utf-8")) == {"version": "3.1", "nlu": []}


def test_a_patients_markup_and_line_breaks_cannot_break_the_file(database, tmp_path) -> None:
    review_directly(database, [("点[这里](procedure:隆鼻)看\n- intent: greet\x07\u2028\ufeff😀", "correct", "out_of_scope", None)])
    out = tmp_path / "reviewed.yml"
    nlu_export.export(out, database)
    (example,) = load_examples(out)
    assert example.get("intent") == "out_of_scope" and example.get("text").startswith("点［这里］(procedure:")
    # Only the export's own annotation: the procedure name the text contains.
    assert [example.get("text")[e["start"]:e["end"]] for e in example.get("entities")] == ["隆鼻"]
    assert example.get("text").endswith("greet 😀")


# ---------------------------------------------------------------- accounts


def test_staff_add_a_trainer_and_the_role_command(database, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("STAFF_PASSWORD", PASSWORD)
    assert main(["staff", "add", "sun", "--name", "孙老师", "--role", "trainer"]) == 0
    assert "(trainer)" in capsys.readouterr().out
    assert main(["staff", "role", "li", "trainer"]) == 0
    assert main(["staff", "role", "zhao", "agent"]) == 0
    assert main(["staff", "role", "nobody", "trainer"]) == 1
    with session_scope(database) as session:
        roles = {s.username: (s.role, s.may(Permission.TRAIN)) for s in session.scalars(select(Staff))}
    assert roles == {"sun": ("trainer", True), "li": ("trainer", True), "zhao": ("agent", False), "boss": ("admin", True)}


def test_the_export_added_to_the_training_data_keeps_tests_test_nlu_data_passing(database, tmp_path) -> None:
    """tests/test_nlu_data.py's own checks, run on data/nlu/ plus the exported file (as if it were there)."""
    from tests import test_nlu_data as rules

    training = [m for p in sorted(rules.NLU_DIR.glob("*.yml")) if p.name != "reviewed.yml" for m in rules._examples(p)]
    holdout = [m for p in sorted((ROOT / "tests" / "nlu").glob("holdout*.yml")) for m in rules._examples(p)]
    long_holdout = next(m.get("text") for m in holdout if len(m.get("text")) > 12 and "[" not in m.get("text"))
    triage_text = rules._triage_texts()[0]
    trained = next(m for m in training if not m.get("entities") and len(m.get("text")) > 4)
    review_directly(database, [
        (long_holdout, "correct", "inform", None),
        (long_holdout + "呀", "correct", "inform", None),  # a near copy
        (triage_text + "了", "correct", "report_emergency", None),
        (trained.get("text"), "correct", "thank" if trained.get("intent") != "thank" else "greet", None),
        ("全切和埋线哪个好 我朋友做的重睑挺自然", "correct", "ask_procedure_info", "双眼皮"),
        ("打了瘦脸针两天 能去蒸桑拿吗", "correct", "ask_recovery", "肉毒素"),
        ("鼻综合做完鼻尖有点歪", "correct", "complain_asymmetry", "隆鼻"),
        ("吸脂肪的那种多少钱", "correct", "ask_procedure_info", "吸脂"),
        ("工单TK202612010042 手机13512345678", "correct", "check_ticket_status", None),
    ])
    out = tmp_path / "reviewed.yml"
    result = nlu_export.export(out, database)
    exported = load_examples(out)
    assert result.examples == len(exported) == 5, out.read_text(encoding="utf-8")
    assert sum(result.skipped.values()) == 4

    combined = training + exported
    rules.test_no_holdout_text_appears_in_the_training_data(combined, holdout)
    rules.test_no_holdout_example_is_a_near_copy_of_a_training_example(combined, holdout)
    rules.test_no_example_is_labelled_with_two_intents(combined)
    rules.test_procedure_annotations_use_the_canonical_values(combined, holdout)
    rules.test_entity_annotations_start_and_end_on_jieba_token_boundaries(combined, holdout)
    rules.test_no_triage_set_message_is_a_near_copy_of_a_training_example(combined)
    annotated = sorted(m.get("text")[e["start"]:e["end"]] for m in exported for e in m.get("entities") or [])
    assert {"全切", "埋线", "重睑", "瘦脸针", "鼻综合", "TK202612010042", nlu_export.PHONE_PLACEHOLDER} <= set(annotated), annotated
