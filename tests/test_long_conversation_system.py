"""A long session as a patient meets it (issue #19): once the tracker store loads only a window of it,
forms, the handoff's pause and the return to the bot behave as in a short one."""

from __future__ import annotations

import re
import uuid

from tests.conftest import RunningSystem, post_json
from tests.test_tickets_system import open_refund_ticket, texts

# More user messages than the tracker store's window (TRACKER_STORE_WINDOW_TURNS, 10).
EARLIER_MESSAGES = ["你好", "你们医院电话多少", "谢谢"] * 5


def test_a_refund_form_after_a_long_conversation_opens_the_ticket(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    for message in EARLIER_MESSAGES:
        assert system.say(sender, message), message

    opened, _ = open_refund_ticket(system, sender)

    assert re.search(r"TK\d{16}", opened), opened


def test_a_handoff_stays_paused_through_more_messages_than_the_window(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    for message in EARLIER_MESSAGES[:6]:
        system.say(sender, message)
    system.say(sender, "转人工")

    unanswered = [system.say(sender, f"还在等人工客服{i}") for i in range(14)]

    assert unanswered == [[]] * 14
    events = [{"event": "resume"}, {"event": "bot", "text": "人工客服已结束本次服务"},
              {"event": "action", "name": "action_listen"}]
    post_json(f"{system.rasa_url}/conversations/{sender}/tracker/events?token={system.token}", events)
    answer = texts(system.say(sender, "你们医院电话多少"))
    fresh = f"p-{uuid.uuid4()}"
    system.say(fresh, "你好")  # a conversation's first answer carries the privacy notice; compare the second
    assert answer and answer == texts(system.say(fresh, "你们医院电话多少"))
