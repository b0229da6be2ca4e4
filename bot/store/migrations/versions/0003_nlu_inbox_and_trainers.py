"""the NLU inbox (patient messages the NLU may have misunderstood, reviewed by trainers), how far it has
read Rasa's events table, and the trainer role of staff

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collect_cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('last_timestamp', sa.Float(precision=53), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('nlu_inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('event_timestamp', sa.Float(precision=53), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('predicted_intent', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('predicted_response_key', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('flagged_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_intent', sa.String(length=64), nullable=True),
    sa.Column('reviewed_procedure', sa.String(length=32), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flagged_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['reviewed_by'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'event_timestamp', name='uq_nlu_inbox_conversation_timestamp')
    )
    with op.batch_alter_table('nlu_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_nlu_inbox_status_timestamp', ['status', 'event_timestamp'], unique=False)

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_trainer', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('is_trainer')

    with op.batch_alter_table('nlu_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_nlu_inbox_status_timestamp')

    op.drop_table('nlu_inbox')
    op.drop_table('collect_cursors')
