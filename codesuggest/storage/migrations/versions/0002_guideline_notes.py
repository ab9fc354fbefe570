"""Suggestions record the ranker's score, the principal diagnosis and what the coding guidelines did.

Revision ID: 0002
Revises: 0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('suggestions') as batch:
        batch.add_column(sa.Column('score', sa.Float(), nullable=True))
        batch.add_column(sa.Column('principal', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('guidelines', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('suggestions') as batch:
        batch.drop_column('guidelines')
        batch.drop_column('principal')
        batch.drop_column('score')
