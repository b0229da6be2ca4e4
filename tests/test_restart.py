"""A restart of any process in the middle of a conversation: the conversation continues where it was.

Each process (Rasa, the action server, the console) is killed with SIGKILL and started again on the
same database, once on SQLite and once on PostgreSQL. Rasa's SQL tracker store holds the dialogue
state (the form and its question, the pause of a handed-over conversation); the handoffs and staff
logins are the project's tables in the same database.
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import ExitStack
from typing import Dict, Iterator, List

import pytest
from sqlalchemy import text

from bot.store import db
from tests.cluster import Stack, http_json, prepare_database
from tests.conftest import ROOT, STAFF_PASSWORD, STAFF_USER, post_json
from tests.services import fresh_postgres_database

PHONE = "13812345678"
OPENING = ["我想退款", "是", "双眼皮"]  # ends with the form asking when the procedure was done
REST_OF_FORM = ["上个月15号", "两边眼皮一宽一窄，和术前设计的不一样，想退款", PHONE, "是"]
FIVE_HOURS = 5 * 3600  # longer than the domain's session_expiration_time (240 min)
RESULTS = ROOT / "results"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp(f"restart-{request.param}")
    with ExitStack() as resources:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'restart.db'}"
        else:
            url = resources.enter_context(fresh_postgres_database())
        prepare_database(url)
        running = Stack(tmp, url)
        resources.callback(running.close)
        running.start()
        yield running
        RESULTS.mkdir(exist_ok=True)
        with open(RESULTS / "restarts.txt", "a", encoding="utf-8") as out:
            out.write(f"{request.param}: " + json.dumps(running.timings, ensure_ascii=False) + "\n")


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def user_messages(stack: Stack, sender: str) -> List[str]:
    return [e["text"] for e in stack.tracker(sender)["events"] if e["event"] == "user"]


def tickets_of(stack: Stack, sender: str) -> List[str]:
    with db.get_engine(stack.database_url).connect() as conn:
        rows = conn.execute(text("SELECT number FROM tickets WHERE conversation_id = :c"), {"c": sender})
        return [row[0] for row in rows]


def finish_form(stack: Stack, sender: str, answers: List[str]) -> str:
    """Answer the remaining questions; returns the ticket-opening reply."""
    expected = {"上个月15号": "描述", "两边眼皮一宽一窄，和术前设计的不一样，想退款": "手机号", PHONE: "138****5678"}
    for answer in answers[:-1]:
        reply = texts(stack.say(sender, answer))
        assert expected[answer] in reply, f"after {answer!r} the form asked: {reply}"
    return texts(stack.say(sender, answers[-1]))


def handed_over(stack: Stack, sender: str) -> None:
    assert "人工客服" in texts(stack.say(sender, "转人工"))


def staff_headers(stack: Stack) -> Dict[str, str]:
    token = post_json(f"{stack.console_url}/api/login", {"username": STAFF_USER, "password": STAFF_PASSWORD})
    return {"Authorization": f"Bearer {token['access_token']}"}


def handoff_of(stack: Stack, headers: Dict[str, str], sender: str) -> dict:
    queue = http_json(f"{stack.console_url}/api/handoffs", headers=headers)
    return next(h for h in queue if h["conversation_id"] == sender)


def test_a_form_and_a_waiting_patient_continue_after_rasa_is_killed(stack: Stack) -> None:
    form, waiting = f"form-{uuid.uuid4().hex}", f"waiting-{uuid.uuid4().hex}"
    for message in OPENING[:-1]:
        stack.say(form, message)
    assert "什么时候做的" in texts(stack.say(form, OPENING[-1]))
    handed_over(stack, waiting)

    stack.timings["rasa_restart_seconds"] = round(stack.restart("rasa"), 1)

    opened = finish_form(stack, form, REST_OF_FORM)
    number = re.search(r"TK\d{16}", opened)
    assert number, f"no ticket after the restart: {opened}"
    assert tickets_of(stack, form) == [number.group(0)]
    assert user_messages(stack, form) == OPENING + REST_OF_FORM, "a message was lost or repeated"

    assert stack.say(waiting, "还有人吗？") == [], "the bot answered a patient waiting for a person"
    assert stack.tracker(waiting)["paused"]


def test_a_form_continues_after_the_action_server_is_killed(stack: Stack) -> None:
    sender = f"form-{uuid.uuid4().hex}"
    for message in OPENING:
        stack.say(sender, message)
    assert "描述" in texts(stack.say(sender, REST_OF_FORM[0]))

    stack.timings["action_server_restart_seconds"] = round(stack.restart("actions"), 1)

    opened = finish_form(stack, sender, REST_OF_FORM[1:])
    assert re.search(r"TK\d{16}", opened), opened
    assert len(tickets_of(stack, sender)) == 1
    assert user_messages(stack, sender) == OPENING + REST_OF_FORM


def test_a_claimed_handoff_survives_a_console_restart_and_staff_can_reply_and_release(stack: Stack) -> None:
    sender = f"held-{uuid.uuid4().hex}"
    handed_over(stack, sender)
    headers = staff_headers(stack)
    handoff = handoff_of(stack, headers, sender)
    console = f"{stack.console_url}/api/handoffs/{handoff['id']}"
    assert post_json(f"{console}/claim", {}, headers)["status"] == "active"

    stack.timings["console_restart_seconds"] = round(stack.restart("console"), 1)

    after = http_json(console, headers=headers)  # the login made before the restart still works
    assert (after["status"], after["assigned_to"]) == ("active", STAFF_USER)
    assert post_json(f"{console}/messages", {"text": "您好，我是值班护士。"}, headers)["delivered"]
    transcript = http_json(f"{stack.console_url}/api/conversations/{sender}", headers=headers)
    assert ("staff", "您好，我是值班护士。") in [(line["role"], line["text"]) for line in transcript]
    assert post_json(f"{console}/release", {}, headers)["status"] == "closed"
    after_release = [reply.get("text", "") for reply in stack.say(sender, "你好")]
    assert len(after_release) == 1 and "在线助手" in after_release[0], f"not the greeting: {after_release}"


def age_conversation(database_url: str, sender: str, seconds: int) -> None:
    """Move every stored event of `sender` `seconds` into the past, as if the patient had been silent."""
    engine = db.get_engine(database_url)
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, data FROM events WHERE sender_id = :s"), {"s": sender}).all()
        for event_id, data in rows:
            event = json.loads(data)
            event["timestamp"] -= seconds
            conn.execute(
                text("UPDATE events SET data = :d, timestamp = :t WHERE id = :i"),
                {"d": json.dumps(event), "t": event["timestamp"], "i": event_id},
            )


def test_a_patient_still_waiting_after_the_session_expired_gets_no_bot_answer(stack: Stack) -> None:
    sender = f"overnight-{uuid.uuid4().hex}"
    handed_over(stack, sender)
    age_conversation(stack.database_url, sender, FIVE_HOURS)

    assert stack.say(sender, "早上好，还在排队吗？") == [], "the new session let the bot answer a waiting patient"
    tracker = stack.tracker(sender)
    assert tracker["paused"]
    assert sum(e["event"] == "session_started" for e in tracker["events"]) == 2, "no new session was started"
    headers = staff_headers(stack)
    assert handoff_of(stack, headers, sender)["status"] == "waiting"
