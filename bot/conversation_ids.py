"""Conversation ids, namespaced per channel, so no channel can address another channel's patient.

A conversation id (Rasa's sender id, the `conversation_id` of handoffs, tickets and follow-ups) starts
with its channel's prefix: the widget's `web-` ids are minted by the server (bot/widget_sessions.py), a
Telegram chat is `tg-<chat id>`, a WeChat user `wx-<openid>`. The REST channel, which the hospital's own
integrations call with their own ids, keeps the sender it is given but refuses one that starts with
another channel's prefix, so a REST caller cannot write into a Telegram, WeChat or widget conversation
(without the prefixes, a REST sender `123456` *was* the Telegram chat 123456). `-` and not `:`: Rasa
3.6's HTTP API does not unquote `%3A` in a conversation id.

Conversations stored before the prefixes (migration 0014 renames them) are the channel address itself;
`address` passes such an id through unchanged.
"""

from __future__ import annotations

from typing import Dict, Optional

PREFIXES: Dict[str, str] = {"socketio": "web-", "telegram": "tg-", "wechat": "wx-"}


def of(channel: str, address: str) -> str:
    """The conversation id of a channel's patient address (a Telegram chat id, a WeChat openid)."""
    return PREFIXES[channel] + address


def address(channel: str, conversation_id: str) -> str:
    """The channel's own address of a conversation (what its API sends to)."""
    prefix = PREFIXES[channel]
    return conversation_id[len(prefix):] if conversation_id.startswith(prefix) else conversation_id


def reserved_by(sender: str) -> Optional[str]:
    """The channel whose prefix `sender` starts with, or None when it names no channel's conversation."""
    return next((channel for channel, prefix in PREFIXES.items() if sender.startswith(prefix)), None)
