"""One-time codes for ticket lookups (bot/ticket_codes.py) on a real (temporary SQLite) database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import ticket_codes
from bot.store import db, migrate
from bot.store.models import TicketCode, utcnow
from bot.ticket_codes import Check

NUMBER = "TK20261207483920"


@pytest.fixture()
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    return url


def test_the_right_code_shows_the_ticket_once(url: str) -> None:
    code = ticket_codes.issue(NUMBER, "c1", url)
    assert len(code) == 6 and code.isdigit()
    assert ticket_codes.pending(NUMBER, "c1", url)
    assert not ticket_codes.take_verified(NUMBER, "c1", url), "nothing is shown before the code is given"
    assert ticket_codes.verify(NUMBER.lower(), "c1", code, url) is Check.VERIFIED
    assert ticket_codes.take_verified(NUMBER, "c1", url)
    assert not ticket_codes.take_verified(NUMBER, "c1", url), "one code shows the ticket once"
    assert ticket_codes.verify(NUMBER, "c1", code, url) is Check.EXPIRED, "a used code does not work again"


def test_a_code_works_only_in_the_conversation_it_was_sent_for(url: str) -> None:
    code = ticket_codes.issue(NUMBER, "c1", url)
    assert ticket_codes.verify(NUMBER, "attacker", code, url) is Check.EXPIRED
    assert ticket_codes.verify("TK20261207000001", "c1", code, url) is Check.EXPIRED
    assert ticket_codes.verify(NUMBER, "c1", code, url) is Check.VERIFIED


def test_five_wrong_codes_use_the_code_up(url: str) -> None:
    code = ticket_codes.issue(NUMBER, "c1", url)
    wrong = "000000" if code != "000000" else "111111"
    assert [ticket_codes.verify(NUMBER, "c1", wrong, url) for _ in range(5)] == [Check.WRONG] * 5
    assert ticket_codes.verify(NUMBER, "c1", code, url) is Check.EXPIRED
    assert not ticket_codes.pending(NUMBER, "c1", url)


def test_a_code_expires_after_ten_minutes(url: str) -> None:
    sent = utcnow()
    code = ticket_codes.issue(NUMBER, "c1", url, now=sent)
    assert ticket_codes.pending(NUMBER, "c1", url, now=sent + timedelta(minutes=9, seconds=59))
    assert ticket_codes.verify(NUMBER, "c1", code, url, now=sent + timedelta(minutes=10)) is Check.EXPIRED


def test_a_new_code_voids_the_earlier_one(url: str) -> None:
    first = ticket_codes.issue(NUMBER, "c1", url)
    second = ticket_codes.issue(NUMBER, "c1", url)
    if first != second:
        assert ticket_codes.verify(NUMBER, "c1", first, url) is Check.WRONG
    assert ticket_codes.verify(NUMBER, "c1", second, url) is Check.VERIFIED


def test_at_most_three_codes_an_hour_per_ticket(url: str) -> None:
    start = utcnow()
    for minute in range(3):
        ticket_codes.issue(NUMBER, f"c{minute}", url, now=start + timedelta(minutes=minute))
    with pytest.raises(ticket_codes.TooManyCodes):
        ticket_codes.issue(NUMBER, "c9", url, now=start + timedelta(minutes=5))
    ticket_codes.issue("TK20261207000001", "c9", url, now=start + timedelta(minutes=5))
    ticket_codes.issue(NUMBER, "c9", url, now=start + timedelta(minutes=61))


def test_only_a_salted_hash_of_the_code_is_stored(url: str) -> None:
    codes = [ticket_codes.issue(NUMBER, f"c{n}", url) for n in range(2)]
    with db.session_scope(url) as session:
        rows = session.execute(select(TicketCode)).scalars().all()
        stored = [(row.salt, row.code_hash) for row in rows]
    assert all(code not in salt + digest for code in codes for salt, digest in stored)
    assert stored[0][0] != stored[1][0]


@pytest.mark.parametrize(
    "typed, code",
    [
        ("482913", "482913"),
        ("验证码是 482 913", "482913"),
        ("４８２９１３", "482913"),
        ("482-913。", "482913"),
        ("48291", None),
        ("4829131", None),
        ("482913 和 111111", None),
        ("", None),
        (None, None),
    ],
)
def test_the_code_is_read_from_what_the_patient_typed(typed, code) -> None:
    assert ticket_codes.code_in(typed) == code
