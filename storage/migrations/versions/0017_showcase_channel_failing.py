"""showcase channels: since when posts to it fail (the community's staff were told then)

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "partner_showcase_channels", sa.Column("failing_since", UTCDateTime(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("partner_showcase_channels") as batch:
        batch.drop_column("failing_since")
