"""handoffs.client_hash: who asked for a handoff, for the limit on urgent handoffs per client

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_handoffs_client_hash'), ['client_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_client_hash'))
        batch_op.drop_column('client_hash')
