"""The access log records the query string and which notes a response disclosed.

``access_log.query`` and ``access_log.disclosed`` (a count), and ``access_log_notes``: one row per note an
entry disclosed (the feedback export returns many), append-only like the access log.

Revision ID: 0003
Revises: 0002

"""
from importlib import import_module
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_initial = import_module("codesuggest.storage.migrations.versions.0001_initial_schema")  # its trigger helpers


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy on SQLite: it would drop the table's append-only triggers)
    op.add_column('access_log', sa.Column('query', sa.String(length=1000), nullable=True))
    op.add_column('access_log', sa.Column('disclosed', sa.Integer(), nullable=True))
    op.create_table('access_log_notes',
    sa.Column('access_log_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('note_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['access_log_id'], ['access_log.id'], name=op.f('fk_access_log_notes_access_log_id_access_log'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('access_log_id', 'note_id', name=op.f('pk_access_log_notes'))
    )
    op.create_index(op.f('ix_access_log_notes_note_id'), 'access_log_notes', ['note_id'], unique=False)
    _initial._create_append_only_triggers('access_log_notes')


def downgrade() -> None:
    _initial._drop_append_only_triggers('access_log_notes')
    op.drop_index(op.f('ix_access_log_notes_note_id'), table_name='access_log_notes')
    op.drop_table('access_log_notes')
    op.drop_column('access_log', 'disclosed')  # SQLite >= 3.35 drops a column in place, triggers kept
    op.drop_column('access_log', 'query')
