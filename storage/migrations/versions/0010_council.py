"""council: 民情议事会 settings, meetings and their reminders, subscriptions, RSVPs,
attendance, topics with their +1s, votes and ballots, self-governance groups,
decisions and their progress reports

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.base import TelegramId, UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("venue", sa.JSON(), nullable=True))
    op.create_table(
        "council_optouts",
        sa.Column("user_id", TelegramId, autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_council_optouts")),
    )
    op.create_table(
        "council_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("place", sa.String(length=120), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("moved_at", UTCDateTime(), nullable=True),
        sa.Column("moved_reason", sa.String(length=200), nullable=True),
        sa.Column("host_id", TelegramId, nullable=True),
        sa.Column("checkin_code", sa.String(length=8), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["nodes.id"],
            name=op.f("fk_council_meetings_community_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_meetings")),
    )
    with op.batch_alter_table("council_meetings", schema=None) as batch_op:
        batch_op.create_index("ix_council_meetings_starts", ["starts_at"], unique=False)
        batch_op.create_index("uq_council_meetings_month", ["community_id", "month"], unique=True)

    op.create_table(
        "council_settings",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.SmallInteger(), nullable=False),
        sa.Column("minute_of_day", sa.SmallInteger(), nullable=False),
        sa.Column("place", sa.String(length=120), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("offsets", sa.JSON(), nullable=False),
        sa.Column("updated_by", TelegramId, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["nodes.id"],
            name=op.f("fk_council_settings_community_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_council_settings")),
    )
    op.create_table(
        "council_attendance",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", TelegramId, nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("by_id", TelegramId, nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["council_meetings.id"],
            name=op.f("fk_council_attendance_meeting_id_council_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f("pk_council_attendance")),
    )
    op.create_table(
        "council_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["council_meetings.id"],
            name=op.f("fk_council_reminders_meeting_id_council_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_council_reminders_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_reminders")),
    )
    with op.batch_alter_table("council_reminders", schema=None) as batch_op:
        batch_op.create_index("ix_council_reminders_due", ["fired_at", "due_at"], unique=False)
        batch_op.create_index("uq_council_reminders_kind", ["meeting_id", "kind"], unique=True)

    op.create_table(
        "council_rsvps",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", TelegramId, nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["nodes.id"],
            name=op.f("fk_council_rsvps_building_id_nodes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["council_meetings.id"],
            name=op.f("fk_council_rsvps_meeting_id_council_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f("pk_council_rsvps")),
    )
    op.create_table(
        "council_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("author_id", TelegramId, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("voice_file_id", sa.String(length=255), nullable=True),
        sa.Column("photo_file_id", sa.String(length=255), nullable=True),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("decided_by", TelegramId, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeals.id"],
            name=op.f("fk_council_topics_appeal_id_appeals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["council_meetings.id"],
            name=op.f("fk_council_topics_meeting_id_council_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["council_topics.id"],
            name=op.f("fk_council_topics_merged_into_id_council_topics"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_topics")),
    )
    with op.batch_alter_table("council_topics", schema=None) as batch_op:
        batch_op.create_index("ix_council_topics_meeting", ["meeting_id", "state"], unique=False)

    op.create_table(
        "council_topic_supports",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("user_id", TelegramId, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["council_topics.id"],
            name=op.f("fk_council_topic_supports_topic_id_council_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("topic_id", "user_id", name=op.f("pk_council_topic_supports")),
    )
    op.create_table(
        "council_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("attendees_only", sa.Boolean(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("closes_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("opened_by", TelegramId, nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("paper", sa.JSON(), nullable=False),
        sa.Column("paper_by", TelegramId, nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["council_meetings.id"],
            name=op.f("fk_council_votes_meeting_id_council_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["council_topics.id"],
            name=op.f("fk_council_votes_topic_id_council_topics"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_votes")),
    )
    with op.batch_alter_table("council_votes", schema=None) as batch_op:
        batch_op.create_index("ix_council_votes_open", ["state", "closes_at"], unique=False)

    op.create_table(
        "council_ballots",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("user_id", TelegramId, nullable=False),
        sa.Column("choice", sa.SmallInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["council_votes.id"],
            name=op.f("fk_council_ballots_vote_id_council_votes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vote_id", "user_id", name=op.f("pk_council_ballots")),
    )
    op.create_table(
        "council_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("leader_id", TelegramId, nullable=True),
        sa.Column("created_by", TelegramId, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["nodes.id"],
            name=op.f("fk_council_groups_community_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name=op.f("fk_council_groups_node_id_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_groups")),
    )
    with op.batch_alter_table("council_groups", schema=None) as batch_op:
        batch_op.create_index("ix_council_groups_community", ["community_id"], unique=False)

    op.create_table(
        "council_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", TelegramId, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["council_groups.id"],
            name=op.f("fk_council_group_members_group_id_council_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_council_group_members")),
    )
    op.create_table(
        "council_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", TelegramId, nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("percent", sa.SmallInteger(), nullable=False),
        sa.Column("created_by", TelegramId, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("overdue_at", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("done_by", TelegramId, nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["council_groups.id"],
            name=op.f("fk_council_decisions_group_id_council_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["council_meetings.id"],
            name=op.f("fk_council_decisions_meeting_id_council_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["council_topics.id"],
            name=op.f("fk_council_decisions_topic_id_council_topics"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_decisions")),
    )
    with op.batch_alter_table("council_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_council_decisions_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_council_decisions_meeting", ["meeting_id"], unique=False)

    op.create_table(
        "council_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("by_id", TelegramId, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_file_id", sa.String(length=255), nullable=True),
        sa.Column("percent", sa.SmallInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["council_decisions.id"],
            name=op.f("fk_council_reports_decision_id_council_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_reports")),
    )
    with op.batch_alter_table("council_reports", schema=None) as batch_op:
        batch_op.create_index("ix_council_reports_decision", ["decision_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("council_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_council_reports_decision")

    op.drop_table("council_reports")
    with op.batch_alter_table("council_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_council_decisions_meeting")
        batch_op.drop_index("ix_council_decisions_due")

    op.drop_table("council_decisions")
    op.drop_table("council_group_members")
    with op.batch_alter_table("council_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_council_groups_community")

    op.drop_table("council_groups")
    op.drop_table("council_ballots")
    with op.batch_alter_table("council_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_council_votes_open")

    op.drop_table("council_votes")
    op.drop_table("council_topic_supports")
    with op.batch_alter_table("council_topics", schema=None) as batch_op:
        batch_op.drop_index("ix_council_topics_meeting")

    op.drop_table("council_topics")
    op.drop_table("council_rsvps")
    with op.batch_alter_table("council_reminders", schema=None) as batch_op:
        batch_op.drop_index("uq_council_reminders_kind")
        batch_op.drop_index("ix_council_reminders_due")

    op.drop_table("council_reminders")
    op.drop_table("council_attendance")
    op.drop_table("council_settings")
    with op.batch_alter_table("council_meetings", schema=None) as batch_op:
        batch_op.drop_index("uq_council_meetings_month")
        batch_op.drop_index("ix_council_meetings_starts")

    op.drop_table("council_meetings")
    op.drop_table("council_optouts")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("venue")
