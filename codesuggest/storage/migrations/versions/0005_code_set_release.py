"""Suggestions and decisions record the code-set release they were made under.

``suggestions.code_set_release`` and ``decision_events.code_set_release``: the loaded releases in one
line (``CodeCatalog.release_label``); rows stored before this revision have none.

Revision ID: 0005
Revises: 0004

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy on SQLite: it would drop decision_events' append-only triggers)
    op.add_column('suggestions', sa.Column('code_set_release', sa.String(length=500), nullable=True))
    op.add_column('decision_events', sa.Column('code_set_release', sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column('decision_events', 'code_set_release')  # SQLite >= 3.35 drops a column in place, triggers kept
    op.drop_column('suggestions', 'code_set_release')
