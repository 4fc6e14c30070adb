"""partners: 幸福合伙人 applications, service orders and the points ledger; buttons under
notices

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import TelegramId, UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _node_fk(table: str, column: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["nodes.id"], name=op.f(f"fk_{table}_{column}_nodes"), ondelete=ondelete
    )


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("actions", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "recruitment_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("created_by", TelegramId, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        _node_fk("recruitment_calls", "community_id", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_recruitment_calls_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recruitment_calls")),
    )
    op.create_index(
        "ix_recruitment_calls_state", "recruitment_calls", ["state", "deadline"], unique=False
    )
    op.create_table(
        "partners",
        sa.Column("user_id", TelegramId, autoincrement=False, nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("real_name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("availability", sa.JSON(), nullable=False),
        sa.Column("intro", sa.Text(), nullable=False),
        sa.Column("certificate_file_id", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("nominated_by", TelegramId, nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", TelegramId, nullable=True),
        _node_fk("partners", "community_id", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["recruitment_calls.id"],
            name=op.f("fk_partners_call_id_recruitment_calls"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_partners")),
    )
    op.create_index(
        "ix_partners_community_state", "partners", ["community_id", "state"], unique=False
    )
    op.create_table(
        "partner_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("leader_id", TelegramId, nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("created_by", TelegramId, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _node_fk("partner_teams", "community_id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_teams")),
    )
    op.create_table(
        "partner_team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", TelegramId, autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("invited_by", TelegramId, nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["partner_teams.id"],
            name=op.f("fk_partner_team_members_team_id_partner_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "partner_id", name=op.f("pk_partner_team_members")),
    )
    op.create_table(
        "partner_nominations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("nominee_id", TelegramId, nullable=True),
        sa.Column("nominee_name", sa.String(length=64), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_id", TelegramId, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _node_fk("partner_nominations", "community_id", "CASCADE"),
        _node_fk("partner_nominations", "building_id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_nominations")),
    )
    op.create_index(
        "ix_partner_nominations_nominee", "partner_nominations", ["nominee_id"], unique=False
    )
    op.create_table(
        "service_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", TelegramId, nullable=True),
        sa.Column("ordered_by", TelegramId, nullable=True),
        sa.Column("household", sa.String(length=120), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("skill", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("voice_file_id", sa.String(length=255), nullable=True),
        sa.Column("preferred", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("partner_id", TelegramId, nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.Column("visited_at", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("comment_voice_file_id", sa.String(length=255), nullable=True),
        sa.Column("may_show", sa.Boolean(), nullable=False),
        sa.Column("photo_file_id", sa.String(length=255), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("timer", sa.String(length=16), nullable=True),
        sa.Column("dispatched_at", UTCDateTime(), nullable=True),
        _node_fk("service_orders", "community_id", "CASCADE"),
        _node_fk("service_orders", "building_id", "SET NULL"),
        _node_fk("service_orders", "grid_id", "SET NULL"),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["partner_teams.id"],
            name=op.f("fk_service_orders_team_id_partner_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_service_orders_appeal_id_appeals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_orders")),
    )
    op.create_index("ix_service_orders_due", "service_orders", ["due_at"], unique=False)
    op.create_index(
        "ix_service_orders_community", "service_orders", ["community_id", "state"], unique=False
    )
    op.create_index(
        "ix_service_orders_partner", "service_orders", ["partner_id", "state"], unique=False
    )
    op.create_index("ix_service_orders_resident", "service_orders", ["resident_id"], unique=False)
    op.create_table(
        "partner_recognitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("partner_ids", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("published_by", TelegramId, nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        _node_fk("partner_recognitions", "community_id", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_partner_recognitions_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_recognitions")),
    )
    op.create_index(
        "uq_partner_recognitions_month",
        "partner_recognitions",
        ["community_id", "month"],
        unique=True,
    )
    op.create_table(
        "partner_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", TelegramId, nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("tier", sa.SmallInteger(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("by_id", TelegramId, nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        _node_fk("partner_points", "community_id", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["service_orders.id"],
            name=op.f("fk_partner_points_order_id_service_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_points")),
    )
    op.create_index("ix_partner_points_partner", "partner_points", ["partner_id"], unique=False)
    op.create_index(
        "ix_partner_points_community", "partner_points", ["community_id", "at"], unique=False
    )
    op.create_index("uq_partner_points_order", "partner_points", ["order_id"], unique=True)


def downgrade() -> None:
    op.drop_table("partner_points")
    op.drop_table("partner_recognitions")
    op.drop_table("service_orders")
    op.drop_table("partner_nominations")
    op.drop_table("partner_team_members")
    op.drop_table("partner_teams")
    op.drop_table("partners")
    op.drop_table("recruitment_calls")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("actions")
