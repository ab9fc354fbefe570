"""The final code set's order, present-on-admission indicators and the coder's export override.

``code_sequences``: one row per submission that set them (append-only; a note's latest row is current).

Revision ID: 0004
Revises: 0003

"""
from importlib import import_module
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_initial = import_module("codesuggest.storage.migrations.versions.0001_initial_schema")  # its trigger helpers


def upgrade() -> None:
    op.create_table('code_sequences',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('note_id', sa.String(length=32), nullable=False),
    sa.Column('codes', sa.JSON(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['notes.id'], name=op.f('fk_code_sequences_note_id_notes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_sequences'))
    )
    op.create_index(op.f('ix_code_sequences_note_id'), 'code_sequences', ['note_id'], unique=False)
    _initial._create_append_only_triggers('code_sequences')


def downgrade() -> None:
    _initial._drop_append_only_triggers('code_sequences')
    op.drop_index(op.f('ix_code_sequences_note_id'), table_name='code_sequences')
    op.drop_table('code_sequences')
