"""ticket_codes: one-time codes sent to the phone on a ticket before another conversation sees it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_number', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shown_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_codes', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_codes_ticket_conversation', ['ticket_number', 'conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_codes_ticket_conversation')

    op.drop_table('ticket_codes')
