"""ticket privacy: notes visible to the patient only when staff say so (ticket_events.patient_visible),
and failed ticket lookups counted per phone, ticket, client and conversation (lookup_misses)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_visible', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('lookup_misses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lookup_misses', schema=None) as batch_op:
        batch_op.create_index('ix_lookup_misses_key_created', ['key', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lookup_misses', schema=None) as batch_op:
        batch_op.drop_index('ix_lookup_misses_key_created')

    op.drop_table('lookup_misses')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_column('patient_visible')
