"""Limits on the public path that a script would meet: messages per minute, metadata size, huge messages."""

from __future__ import annotations

import json

import pytest

from bot import client_identity, message_guard
from bot.channels.socketio import MAX_METADATA_BYTES, SocketIOInput
from bot.message_rate import MessageRate


def test_a_conversation_sending_faster_than_a_person_types_is_refused_for_a_minute() -> None:
    rate = MessageRate()
    assert all(rate.allow("web-a", "web:1.2.3.4", now=float(second)) for second in range(20))
    assert not rate.allow("web-a", "web:1.2.3.4", now=20.0)
    assert rate.allow("web-b", "web:1.2.3.4", now=20.0), "another conversation of the same address goes on"
    assert rate.allow("web-a", "web:1.2.3.4", now=61.0), "a minute later the conversation may write again"


def test_one_address_opening_conversation_after_conversation_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESSAGES_PER_MINUTE_PER_CLIENT", "5")
    rate = MessageRate()
    assert all(rate.allow(f"web-{n}", "web:6.6.6.6", now=1.0) for n in range(5))
    assert not rate.allow("web-new", "web:6.6.6.6", now=1.0)
    assert rate.allow("web-new", "web:7.7.7.7", now=1.0)


def test_metadata_beyond_the_limit_is_dropped_and_the_channel_names_the_client() -> None:
    channel = SocketIOInput()
    small = {"page": "/price"}
    assert channel._metadata({"metadata": small}) == small
    assert channel._metadata({"metadata": json.dumps(small)}) == small
    assert channel._metadata({"metadata": {"junk": "x" * MAX_METADATA_BYTES}}) == {}
    assert channel._metadata({"metadata": "x" * 10 * MAX_METADATA_BYTES}) == {}
    assert client_identity.stamp({"client": "forged", "page": "/"}, "web:1.2.3.4") == {"client": "web:1.2.3.4", "page": "/"}


def test_a_megabyte_message_is_refused_with_its_length() -> None:
    verdict = message_guard.check("字" * 1_000_000)
    assert verdict.problem == message_guard.TOO_LONG and "1000000" in verdict.reply
