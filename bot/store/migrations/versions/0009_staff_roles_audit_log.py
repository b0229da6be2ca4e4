"""staff.role (agent, supervisor, admin, trainer: bot/roles.py) in place of staff.is_admin and staff.is_trainer;
audit_log: who read or revealed which patient's data (bot/audit.py)

An admin stays an admin; a trainer who was no admin becomes a trainer (the NLU inbox only); everyone else
an agent. Going down, an admin is an admin again and a trainer a trainer; a supervisor becomes an agent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), server_default='agent', nullable=False))
    op.execute(
        "UPDATE staff SET role = CASE WHEN is_admin THEN 'admin' WHEN is_trainer THEN 'trainer' ELSE 'agent' END"
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('is_trainer')
        batch_op.drop_column('is_admin')
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_audit_log_target', ['target_kind', 'target'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_target')
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor'))
    op.drop_table('audit_log')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('is_trainer', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE staff SET is_admin = (role = 'admin'), is_trainer = (role = 'trainer')")
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('role')
