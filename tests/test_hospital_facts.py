"""Each hospital fact (hotline, on-call line, crisis line, address, hours) is written once, in
data/policies/hospital.yml, and every text a patient reads renders it from there."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot import hospital
from bot.hospital_nlg import HospitalResponses

ROOT = Path(__file__).resolve().parent.parent
HOSPITAL_FILE = ROOT / "data" / "policies" / "hospital.yml"
# Service numbers of a hotline's shape (400-…, 800-…) or a long digit run that is not a sample mobile number.
SERVICE_NUMBER = re.compile(r"(?<!\d)[48]00[-\s]?\d{3}[-\s]?\d{4}(?!\d)")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def patient_texts() -> Iterator[Tuple[str, str]]:
    """(where, text) for every response, policy text, service text and page a patient reads."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variations in domain["responses"].items():
        for variation in variations:
            yield f"domain.yml {name}", variation.get("text", "")
    for path in sorted((ROOT / "data" / "policies").glob("*.yml")):
        if path != HOSPITAL_FILE:
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    yield "bot/console/replies.yml", (ROOT / "bot" / "console" / "replies.yml").read_text(encoding="utf-8")
    for path in sorted((ROOT / "bot" / "console").rglob("*.html")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def test_no_text_writes_a_hospital_number_or_the_address_itself() -> None:
    facts = hospital.load().facts()
    literal = [facts[name] for name in ("hotline", "on_call_line", "crisis_line", "address")]
    problems: List[str] = []
    for where, text in patient_texts():
        problems += [f"{where}: {number}" for number in SERVICE_NUMBER.findall(text)]
        problems += [f"{where}: {value}" for value in literal if value in text]
    assert problems == [], "write {hotline}, {on_call_line}, {crisis_line}, {address} instead"


def test_every_placeholder_of_a_response_is_a_slot_or_a_hospital_fact() -> None:
    domain = Domain.load(str(ROOT / "domain.yml"))
    known = {slot.name for slot in domain.slots} | set(hospital.load().facts())
    unknown = {
        (name, placeholder)
        for name, variations in domain.responses.items()
        for variation in variations
        for placeholder in PLACEHOLDER.findall(variation.get("text") or "")
        if placeholder not in known
    }
    assert unknown == set()


@pytest.fixture(scope="module")
def responses() -> Tuple[Domain, HospitalResponses]:
    domain = Domain.load(str(ROOT / "domain.yml"))
    return domain, HospitalResponses(domain=domain)


def _say(responses: Tuple[Domain, HospitalResponses], name: str, *events: object) -> str:
    domain, generator = responses
    tracker = DialogueStateTracker.from_events("facts", list(events), slots=domain.slots)
    return asyncio.run(generator.generate(name, tracker, "rest"))["text"]


def test_the_contact_answer_and_the_emergency_answer_carry_the_facts_of_hospital_yml(responses) -> None:
    facts = hospital.load().facts()
    contact = _say(responses, "utter_contact_info")
    assert all(facts[name] in contact for name in ("hotline", "on_call_line", "address", "clinic_hours"))
    emergency = _say(responses, "utter_emergency")
    assert "120" in emergency and facts["on_call_line"] in emergency and "{" not in emergency


def test_a_patient_in_despair_gets_the_crisis_line_and_the_on_call_line(responses) -> None:
    facts = hospital.load().facts()
    text = _say(responses, "utter_emergency", SlotSet("red_flag", "self_harm"))
    assert facts["crisis_line"] in text and facts["on_call_line"] in text and "120" in text
    assert facts["crisis_line"] not in _say(responses, "utter_emergency", SlotSet("red_flag", "bleeding"))


def test_the_greeting_sends_an_emergency_to_the_phone_not_to_the_chat(responses) -> None:
    text = _say(responses, "utter_greet")
    assert "120" in text and hospital.load().on_call_line in text
    assert "直接告诉我症状" not in text
