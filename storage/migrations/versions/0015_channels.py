"""channels: Open311 channels with hashed API keys, the appeals they filed, and
building coordinates

Revision ID: 0015
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_hint", sa.String(length=16), nullable=False),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_channels_node_id_nodes"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_channels_key_hash")),
    )
    op.create_index("ix_channels_node", "channels", ["node_id"], unique=False)
    op.create_table(
        "channel_appeals",
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("caller_name", sa.String(length=200), nullable=True),
        sa.Column("caller_email", sa.String(length=200), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("address_string", sa.Text(), nullable=True),
        sa.Column("placed", sa.Boolean(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_channel_appeals_appeal_id_appeals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_appeals_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appeal_id", name=op.f("pk_channel_appeals")),
        sa.UniqueConstraint("channel_id", "external_id", name="uq_channel_appeals_ticket"),
    )
    op.create_index(
        "ix_channel_appeals_channel", "channel_appeals", ["channel_id", "appeal_id"], unique=False
    )
    op.create_table(
        "building_points",
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["nodes.id"],
            name=op.f("fk_building_points_building_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("building_id", name=op.f("pk_building_points")),
    )
    op.create_index(
        "ix_building_points_lat_lon", "building_points", ["latitude", "longitude"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_building_points_lat_lon", table_name="building_points")
    op.drop_table("building_points")
    op.drop_index("ix_channel_appeals_channel", table_name="channel_appeals")
    op.drop_table("channel_appeals")
    op.drop_index("ix_channels_node", table_name="channels")
    op.drop_table("channels")
