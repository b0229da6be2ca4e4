"""channel_state: short-lived state a messaging channel shares between Rasa instances (the WeChat channel's
access token, deliveries already handled, numbered choices, each patient's 48-hour window)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_state',
    sa.Column('key', sa.String(length=191), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_state_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_state_expires_at'))

    op.drop_table('channel_state')
