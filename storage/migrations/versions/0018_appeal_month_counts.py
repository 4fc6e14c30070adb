"""appeal month counts: the KPI counts of settled appeals per grid, UTC month, state
and category, kept by triggers on appeals and counted from the existing rows

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.appeals import month_counts

revision: str = "0018"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "filed",
    "base",
    "accepted_in_time",
    "resolved",
    "rated",
    "satisfied",
    "late",
    "closed_unsatisfied",
    "resolved_in_time",
    "reopened",
)


def upgrade() -> None:
    op.create_table(
        "appeal_month_counts",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint(
            "district_id",
            "month",
            "street_id",
            "community_id",
            "grid_id",
            "state",
            "category",
            name=op.f("pk_appeal_month_counts"),
        ),
    )
    # The triggers, then the counts of the rows already there, in one transaction: a
    # write waits for it (the trigger's lock on appeals) and is counted by the trigger.
    month_counts.create(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    for statement in month_counts.drop_statements(bind.dialect.name):
        op.execute(statement)
    op.drop_table("appeal_month_counts")
