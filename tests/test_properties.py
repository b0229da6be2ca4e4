"""Property-based tests (hypothesis) of every parser and validator patient or staff input meets."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot import form_input, logging_filter, message_guard, phone, tickets
from bot.channels import rest
from bot.console.schemas import LoginRequest, MessageIn, TicketUpdate
from bot.store import migrate

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.lists(st.text()))
mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
FEW = settings(max_examples=150, deadline=None)


# ---------------------------------------------------------------- phone numbers


@FEW
@given(mobiles, st.sampled_from(["", "+86", "0086", "86"]), st.sampled_from(["", " ", "-", "\u3000"]), st.booleans())
def test_a_mobile_number_is_accepted_however_it_is_typed(number: str, prefix: str, separator: str, full_width: bool) -> None:
    typed = prefix + separator.join([number[:3], number[3:7], number[7:]])
    if full_width:
        typed = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in typed)
    assert phone.check(typed) == phone.PhoneCheck(number, None, 11)


@FEW
@given(st.text())
def test_checking_any_text_never_fails_and_only_accepts_eleven_digits(text: str) -> None:
    result = phone.check(text)
    assert result.ok == (result.number is not None)
    if result.ok:
        assert re.fullmatch(r"1[3-9]\d{9}", result.number)
    else:
        assert result.problem in {"empty", "not_digits", "wrong_length", "wrong_prefix"}


@FEW
@given(mobiles)
def test_a_masked_number_shows_only_its_first_three_and_last_four_digits(number: str) -> None:
    assert phone.mask(number) == f"{number[:3]}****{number[-4:]}"


@FEW
@given(st.lists(st.one_of(st.text(max_size=20), mobiles), max_size=6))
def test_masked_text_contains_no_mobile_number(parts: list) -> None:
    assert MOBILE.search(phone.mask_text(" ".join(parts))) is None


# ---------------------------------------------------------------- log records


@FEW
@given(st.lists(st.one_of(st.text(max_size=20), mobiles, st.just("secret-token-123")), max_size=6))
def test_a_log_record_leaves_no_number_and_no_secret(parts: list) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "said %s", (" ".join(parts),), None)
    logging_filter.mask_record(record, {"secret-token-123": "<RASA_TOKEN>"})
    message = record.getMessage()
    assert MOBILE.search(message) is None and "secret-token-123" not in message


# ---------------------------------------------------------------- patient messages


@FEW
@given(anything)
def test_any_message_is_either_clean_text_within_the_limit_or_refused_with_a_reply(raw: object) -> None:
    verdict = message_guard.check(raw)
    if verdict.ok:
        assert verdict.text and verdict.text == verdict.text.strip()
        assert len(verdict.text) <= message_guard.MAX_MESSAGE_CHARS
        assert all(ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in verdict.text)
        assert message_guard.check(verdict.text) == verdict
    else:
        assert verdict.problem in {"empty", "too_long", "not_text"} and verdict.reply


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=message_guard.MAX_MESSAGE_CHARS + 1, max_value=30_000))
def test_any_message_over_the_limit_is_refused_naming_its_length(length: int) -> None:
    verdict = message_guard.check("肿" * length)
    assert verdict.problem == "too_long" and str(length) in verdict.reply


@FEW
@given(st.binary(max_size=300) | st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(st.text(max_size=10), anything)))
def test_any_webhook_body_is_a_request_or_a_stated_problem(body: bytes) -> None:
    parsed = rest.parse_request(body)
    if isinstance(parsed, rest.RestRequest):
        assert message_guard.sender_problem(parsed.sender) is None
        assert parsed.metadata is None or isinstance(parsed.metadata, dict)
    else:
        assert parsed.error in {"not_json", "not_object", "missing_field", "bad_field", "sender_too_long"}
        assert parsed.message


# ---------------------------------------------------------------- form answers


@FEW
@given(st.text(max_size=600), st.sampled_from([form_input.SURGERY_TIME_MAX_CHARS, form_input.DESCRIPTION_MAX_CHARS]))
def test_an_accepted_free_answer_is_short_enough_and_has_no_injection_characters(text: str, max_chars: int) -> None:
    problem = form_input.text_problem(text, max_chars)
    if problem is None:  # the form stores the answer stripped
        assert 0 < len(text.strip()) <= max_chars
        assert not form_input.FORBIDDEN_CHARACTERS.search(text.strip())
    else:
        assert problem in {"text_empty", "text_too_long", "text_symbols"}


# ---------------------------------------------------------------- ticket numbers and lookups


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('properties') / 'app.db'}"
    migrate.upgrade(url)
    return url


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=30), st.text(max_size=20))
def test_a_lookup_with_any_number_and_phone_finds_nothing_in_an_empty_database(database: str, number: str, given: str) -> None:
    assert tickets.find_for_patient(number, given, url=database) is None
    assert tickets.opened_by("patient-1", given, number, url=database) == []


@FEW
@given(st.dates(min_value=date(2000, 1, 1)))
def test_every_ticket_number_the_project_prints_is_one_it_reads(day: date) -> None:
    number = tickets._new_number(day)
    assert tickets.NUMBER_PATTERN.match(number) and number.startswith(f"TK{day:%Y%m%d}")
    assert not tickets.NUMBER_PATTERN.match(number + "0") and not tickets.NUMBER_PATTERN.match(number[:-1])


@FEW
@given(st.dates(min_value=date(2000, 1, 1)), st.integers(min_value=1, max_value=9999))
def test_numbers_printed_before_the_random_ones_are_still_read(day: date, sequence: int) -> None:
    number = f"{tickets.NUMBER_PREFIX}{day:%Y%m%d}{sequence:04d}"
    assert tickets.NUMBER_PATTERN.match(number)
    assert not tickets.NUMBER_PATTERN.match(number + "0") and not tickets.NUMBER_PATTERN.match(number[:-1])


@FEW
@given(st.text(), st.text())
def test_request_keys_differ_for_different_messages(conversation: str, message: str) -> None:
    key = tickets.request_key(conversation, message)
    assert len(key) == 64 and key == tickets.request_key(conversation, message)
    assert key != tickets.request_key(conversation, message + "x")


# ---------------------------------------------------------------- console request bodies


@FEW
@given(st.dictionaries(st.sampled_from(["username", "password", "text", "status", "note", "x"]), anything))
def test_console_bodies_are_accepted_within_their_limits_or_refused_as_invalid(body: dict) -> None:
    for schema in (LoginRequest, MessageIn, TicketUpdate):
        try:
            parsed = schema(**body)
        except ValidationError:
            continue
        if isinstance(parsed, LoginRequest):
            assert 1 <= len(parsed.username) <= 64 and 1 <= len(parsed.password) <= 256
        elif isinstance(parsed, MessageIn):
            assert parsed.text == parsed.text.strip() and 1 <= len(parsed.text) <= 4000
        else:
            assert parsed.status is not None or parsed.note is not None


@given(st.text(min_size=1, max_size=80).filter(lambda t: form_input.FORBIDDEN_CHARACTERS.search(t) is not None))
def test_an_answer_with_injection_characters_never_counts_as_a_question(text: str) -> None:
    """Whatever the classifier guessed ("thank" for "x'); DROP TABLE …"), the form refuses and asks again."""
    for intent in form_input.QUESTION_INTENTS:
        assert not form_input.interrupts(intent, "problem_description", True, text)
        assert not form_input.interrupts(intent, "surgery_time", True, text)
    assert form_input.interrupts("report_emergency", "problem_description", True, text)
