"""conversation ids namespaced per channel: a Telegram chat's conversation becomes `tg-<chat id>`, a WeChat
user's `wx-<openid>` (bot/conversation_ids.py), in Rasa's events and in every table that names a conversation

A conversation is Telegram's or WeChat's when a handoff, ticket, follow-up or privacy notice says so, or when a
patient message in Rasa's `events` came through that channel. An id whose new name is already taken is left as
it is (it cannot have come from a channel that did not yet write prefixed ids).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""
from typing import Dict, Iterable, List, Tuple

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

PREFIXES = {'telegram': 'tg-', 'wechat': 'wx-'}
# (table, column): every column holding a conversation id.
CONVERSATION_COLUMNS = (
    ('tickets', 'conversation_id'), ('ticket_codes', 'conversation_id'), ('handoffs', 'conversation_id'),
    ('conversation_notes', 'conversation_id'), ('nlu_inbox', 'conversation_id'), ('followups', 'conversation_id'),
    ('privacy_notices', 'conversation_id'),
)
# (table, column): a conversation id where the row's target_kind is 'conversation'.
TARGET_COLUMNS = (('tags', 'target'), ('audit_log', 'target'))
CHANNEL_TABLES = ('tickets', 'handoffs', 'followups', 'privacy_notices')


def _has_events(bind: sa.engine.Connection) -> bool:
    """Rasa creates its `events` table itself, on its first start: a new database has none yet."""
    return sa.inspect(bind).has_table('events')


def _legacy_ids(bind: sa.engine.Connection, channel: str) -> List[str]:
    prefix = PREFIXES[channel]
    found = set()
    for table in CHANNEL_TABLES:
        rows = bind.execute(sa.text(
            f"SELECT DISTINCT conversation_id FROM {table} WHERE channel = :channel"
        ), {'channel': channel})
        found.update(row[0] for row in rows)
    if _has_events(bind):
        rows = bind.execute(sa.text(
            "SELECT DISTINCT sender_id FROM events WHERE type_name = 'user' AND (data LIKE :spaced OR data LIKE :tight)"
        ), {'spaced': f'%"input_channel": "{channel}"%', 'tight': f'%"input_channel":"{channel}"%'})
        found.update(row[0] for row in rows)
    return sorted(i for i in found if i and not i.startswith(prefix))


def _taken(bind: sa.engine.Connection, conversation_id: str) -> bool:
    if _has_events(bind) and bind.execute(
        sa.text("SELECT 1 FROM events WHERE sender_id = :id LIMIT 1"), {'id': conversation_id}
    ).first():
        return True
    return any(
        bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} = :id LIMIT 1"), {'id': conversation_id}).first()
        for table, column in CONVERSATION_COLUMNS
    )


def _rename(bind: sa.engine.Connection, renames: Iterable[Tuple[str, str]]) -> None:
    events = _has_events(bind)
    for old, new in renames:
        values = {'old': old, 'new': new}
        if events:
            bind.execute(sa.text("UPDATE events SET sender_id = :new WHERE sender_id = :old"), values)
        for table, column in CONVERSATION_COLUMNS:
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), values)
        for table, column in TARGET_COLUMNS:
            bind.execute(sa.text(
                f"UPDATE {table} SET {column} = :new WHERE {column} = :old AND target_kind = 'conversation'"
            ), values)
    for old, new in renames:
        bind.execute(sa.text("UPDATE channel_state SET key = :new WHERE key = :old"), {
            'old': f'wechat:window:{old}', 'new': f'wechat:window:{new}',
        })


def upgrade() -> None:
    bind = op.get_bind()
    renames: Dict[str, str] = {}
    for channel, prefix in PREFIXES.items():
        for old in _legacy_ids(bind, channel):
            if old not in renames and not _taken(bind, prefix + old):
                renames[old] = prefix + old
    _rename(bind, renames.items())


def downgrade() -> None:
    bind = op.get_bind()
    renames: Dict[str, str] = {}
    for channel, prefix in PREFIXES.items():
        for table in CHANNEL_TABLES:
            rows = bind.execute(sa.text(
                f"SELECT DISTINCT conversation_id FROM {table} WHERE channel = :channel AND conversation_id LIKE :prefix"
            ), {'channel': channel, 'prefix': prefix + '%'})
            renames.update((row[0], row[0][len(prefix):]) for row in rows)
        if _has_events(bind):
            rows = bind.execute(sa.text(
                "SELECT DISTINCT sender_id FROM events WHERE sender_id LIKE :prefix"
            ), {'prefix': prefix + '%'})
            renames.update((row[0], row[0][len(prefix):]) for row in rows)
    _rename(bind, renames.items())
