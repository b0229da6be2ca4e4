"""Emergencies end to end, as patients meet them: the whole system, the REST channel, the database.

Every red flag of tests/nlu/triage_red_flags.yml gets 120, the on-call line and an urgent handoff in a fresh
conversation, in the middle of a form and while waiting for a person; a waiting patient's ordinary messages
still get no automatic answer, and a red flag while a person holds the conversation is answered too. A doubtful symptom gets the red-flag checklist, whose "none" button
goes on with the patient's question.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml
from sqlalchemy import select, update

from bot import hospital
from bot.store.db import session_scope
from bot.store.models import Handoff
from tests.conftest import RunningSystem

RED_FLAGS = yaml.safe_load((Path(__file__).parent / "nlu" / "triage_red_flags.yml").read_text(encoding="utf-8"))[
    "red_flags"
]
ONE_PER_CONCEPT: Dict[str, str] = {}
for entry in RED_FLAGS:
    ONE_PER_CONCEPT.setdefault(entry["concept"], entry["text"])


def texts(replies: list) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def open_handoff(system: RunningSystem, sender: str) -> Optional[Handoff]:
    with session_scope(system.env["DATABASE_URL"]) as session:
        handoff = session.scalars(
            select(Handoff).where(Handoff.conversation_id == sender, Handoff.status != "closed")
        ).first()
        if handoff is not None:
            session.expunge(handoff)
        return handoff


def is_emergency_answer(system: RunningSystem, sender: str, replies: list) -> bool:
    answer = texts(replies)
    handoff = open_handoff(system, sender)
    return (
        "120" in answer
        and hospital.load().on_call_line in answer
        and handoff is not None
        and (handoff.reason, handoff.priority) == ("emergency", "urgent")
        and "排在第" not in answer
    )


def test_every_red_flag_of_the_set_gets_120_the_on_call_line_and_an_urgent_handoff(system: RunningSystem) -> None:
    missed: List[str] = []
    for entry in RED_FLAGS:
        sender = f"flag-{uuid.uuid4().hex[:10]}"
        if not is_emergency_answer(system, sender, system.say(sender, entry["text"])):
            missed.append(f"{entry['concept']}: {entry['text']}")
    assert missed == []


def test_every_red_flag_in_the_middle_of_a_form_is_answered_at_once(system: RunningSystem) -> None:
    missed: List[str] = []
    for entry in RED_FLAGS:
        sender = f"form-{uuid.uuid4().hex[:10]}"
        system.say(sender, "我想退款")
        system.say(sender, "是")
        assert "什么时候做的" in texts(system.say(sender, "隆鼻"))
        replies = system.say(sender, entry["text"])
        if not is_emergency_answer(system, sender, replies) or "什么时候做的" in texts(replies):
            missed.append(f"{entry['concept']}: {entry['text']}")
    assert missed == []


def test_every_red_flag_from_a_patient_waiting_for_a_person_is_answered_and_raised_to_urgent(
    system: RunningSystem,
) -> None:
    missed: List[str] = []
    for entry in RED_FLAGS:
        sender = f"paused-{uuid.uuid4().hex[:10]}"
        queued = texts(system.say(sender, "我要找人工客服"))
        assert "排在第" in queued or "下班时间" in queued
        if not is_emergency_answer(system, sender, system.say(sender, entry["text"])):
            missed.append(f"{entry['concept']}: {entry['text']}")
    assert missed == []


@pytest.mark.parametrize("concept", sorted(ONE_PER_CONCEPT))
def test_a_waiting_patient_gets_silence_for_ordinary_messages_before_and_after_the_emergency(
    system: RunningSystem, concept: str
) -> None:
    sender = f"quiet-{uuid.uuid4().hex[:10]}"
    system.say(sender, "我要找人工客服")
    assert open_handoff(system, sender).priority == "normal"
    assert system.say(sender, "好的我等着") == []  # paused: no automatic answer to an ordinary message
    assert is_emergency_answer(system, sender, system.say(sender, ONE_PER_CONCEPT[concept]))
    assert system.say(sender, "还要等多久") == []  # paused again after the emergency answer


def test_a_red_flag_while_staff_hold_the_conversation_is_answered_and_marked_urgent(system: RunningSystem) -> None:
    sender = f"claimed-{uuid.uuid4().hex[:10]}"
    system.say(sender, "转人工")
    with session_scope(system.env["DATABASE_URL"]) as session:
        session.execute(update(Handoff).where(Handoff.conversation_id == sender).values(status="active"))

    replies = system.say(sender, "伤口一直流血止不住，纱布都湿透了")

    assert is_emergency_answer(system, sender, replies), texts(replies)
    assert open_handoff(system, sender).status == "active"


def test_a_patient_in_despair_gets_the_crisis_line_and_a_person(system: RunningSystem) -> None:
    sender = f"despair-{uuid.uuid4().hex[:10]}"
    replies = system.say(sender, "鼻子做成这样，我真的不想活了")
    assert hospital.load().crisis_line in texts(replies)
    assert is_emergency_answer(system, sender, replies)


def test_a_doubtful_symptom_gets_the_checklist_and_none_goes_on_with_the_question(system: RunningSystem) -> None:
    sender = f"check-{uuid.uuid4().hex[:10]}"
    replies = system.say(sender, "做完双眼皮第二天，伤口有点渗血")
    question = replies[-1]
    assert "为了您的安全" in question["text"]
    titles = [button["title"] for button in question["buttons"]]
    assert "出血止不住" in titles and titles[-1] == "都没有"
    assert open_handoff(system, sender) is None

    after = texts(system.say(sender, question["buttons"][-1]["payload"]))
    assert "为了您的安全" not in after and "抱歉，我没有完全理解" not in after
    assert open_handoff(system, sender) is None

    pressed = system.say(f"{sender}-b", "伤口有点渗血")[-1]["buttons"][0]["payload"]
    assert is_emergency_answer(system, f"{sender}-b", system.say(f"{sender}-b", pressed))
