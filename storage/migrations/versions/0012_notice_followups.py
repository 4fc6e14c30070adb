"""notices: the question pending on the progress message; a media notice's file id

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("asking", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("file_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("file_id")
        batch.drop_column("asking")
