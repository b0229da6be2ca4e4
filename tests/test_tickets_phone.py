"""bot/phone.py: what a patient types as a mobile number, and masking in logs."""

from __future__ import annotations

import logging

import pytest

from bot import logging_filter, phone


@pytest.mark.parametrize(
    "typed, number",
    [
        ("13812345678", "13812345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("19912345678", "19912345678"),
    ],
)
def test_mainland_mobile_numbers_are_accepted_in_the_ways_people_type_them(typed: str, number: str) -> None:
    assert phone.check(typed) == phone.PhoneCheck(number, None, 11)


@pytest.mark.parametrize(
    "typed, problem, digits",
    [
        ("", "empty", 0),
        (None, "empty", 0),
        ("1381234567", "wrong_length", 10),
        ("138123456789", "wrong_length", 12),
        ("12812345678", "wrong_prefix", 11),
        ("23812345678", "wrong_prefix", 11),
        ("138abc45678", "not_digits", 8),
        ("'; DROP TABLE tickets;--", "not_digits", 0),
        ("我的手机号", "not_digits", 0),
    ],
)
def test_a_bad_number_says_what_is_wrong_with_it(typed: object, problem: str, digits: int) -> None:
    checked = phone.check(typed)  # type: ignore[arg-type]
    assert not checked.ok
    assert (checked.problem, checked.digits) == (problem, digits)


def test_masking_keeps_only_the_first_three_and_last_four_digits() -> None:
    assert phone.mask("13812345678") == "138****5678"
    assert phone.mask("not a phone") == "***"
    assert phone.mask(None) == "***"


def test_every_number_in_a_text_is_masked_but_longer_digit_runs_are_left_alone() -> None:
    text = "call 13812345678 or 13987654321, order 2026112300421381234567899"
    assert phone.mask_text(text) == "call 138****5678 or 139****4321, order 2026112300421381234567899"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_log_lines_never_show_a_full_phone_number() -> None:
    logger = logging.getLogger("tests.phone.masking")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = _Lines()
    logger.addHandler(handler)
    logging_filter.install()
    logging_filter.install()
    logger.info("patient %s wrote %s", "13812345678", "my number is 13912345678")
    assert handler.lines == ["patient 138****5678 wrote my number is 139****5678"]
