"""tickets.assigned_to, handoffs.first_reply_at, tags: the console's assignment, first-response time and tags

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_to', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_assigned_to'), ['assigned_to'], unique=False)
        batch_op.create_foreign_key('fk_tickets_assigned_to_staff', 'staff', ['assigned_to'], ['id'])
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_reply_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('tag', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('target_kind', 'target', 'tag', name='uq_tags_target_tag')
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index('ix_tags_tag_target', ['tag', 'target_kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index('ix_tags_tag_target')
    op.drop_table('tags')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_column('first_reply_at')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tickets_assigned_to_staff', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_assigned_to'))
        batch_op.drop_column('assigned_to')
