"""appeals, events, media, followers, outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_pending", ["sent_at", "failed_at", "not_before"], unique=False
        )

    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column(
            "scope_path",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("first_accept_due", UTCDateTime(), nullable=False),
        sa.Column("first_resolve_due", UTCDateTime(), nullable=False),
        sa.Column("feedback_due", UTCDateTime(), nullable=False),
        sa.Column("accepted_in_time", sa.Boolean(), nullable=True),
        sa.Column("accept_due", UTCDateTime(), nullable=True),
        sa.Column("resolve_due", UTCDateTime(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("due_kind", sa.String(length=24), nullable=True),
        sa.Column("deadline_at", UTCDateTime(), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("rated_at", UTCDateTime(), nullable=True),
        sa.Column("result_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["nodes.id"],
            name=op.f("fk_appeals_building_id_nodes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["nodes.id"], name=op.f("fk_appeals_community_id_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["nodes.id"], name=op.f("fk_appeals_district_id_nodes")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["nodes.id"], name=op.f("fk_appeals_grid_id_nodes")),
        sa.ForeignKeyConstraint(
            ["street_id"], ["nodes.id"], name=op.f("fk_appeals_street_id_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appeals_building_category", ["building_id", "category", "state"], unique=False
        )
        batch_op.create_index(
            "ix_appeals_district_submitted", ["district_id", "submitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_appeals_street_submitted", ["street_id", "submitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_appeals_community_submitted", ["community_id", "submitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_appeals_grid_submitted", ["grid_id", "submitted_at"], unique=False
        )
        batch_op.create_index("ix_appeals_due", ["due_at"], unique=False)
        batch_op.create_index("ix_appeals_grid_state", ["grid_id", "state"], unique=False)
        batch_op.create_index("ix_appeals_owner_state", ["owner_id", "state"], unique=False)
        batch_op.create_index("ix_appeals_resident", ["resident_id", "id"], unique=False)
        batch_op.create_index(
            "ix_appeals_state_scope", ["state", "scope_path", "deadline_at"], unique=False
        )

    op.create_table(
        "appeal_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_events_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_events")),
    )
    with op.batch_alter_table("appeal_events", schema=None) as batch_op:
        batch_op.create_index("ix_appeal_events_appeal", ["appeal_id", "id"], unique=False)

    op.create_table(
        "appeal_followers",
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_followers_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appeal_id", "user_id", name=op.f("pk_appeal_followers")),
    )
    op.create_table(
        "appeal_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_appeal_media_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["appeal_events.id"],
            name=op.f("fk_appeal_media_event_id_appeal_events"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_media")),
    )
    with op.batch_alter_table("appeal_media", schema=None) as batch_op:
        batch_op.create_index("ix_appeal_media_appeal", ["appeal_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeal_media", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_media_appeal")

    op.drop_table("appeal_media")
    op.drop_table("appeal_followers")
    with op.batch_alter_table("appeal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_events_appeal")

    op.drop_table("appeal_events")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_state_scope")
        batch_op.drop_index("ix_appeals_resident")
        batch_op.drop_index("ix_appeals_owner_state")
        batch_op.drop_index("ix_appeals_grid_state")
        batch_op.drop_index("ix_appeals_due")
        batch_op.drop_index("ix_appeals_grid_submitted")
        batch_op.drop_index("ix_appeals_community_submitted")
        batch_op.drop_index("ix_appeals_street_submitted")
        batch_op.drop_index("ix_appeals_district_submitted")
        batch_op.drop_index("ix_appeals_building_category")

    op.drop_table("appeals")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
