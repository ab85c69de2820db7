"""Baseline: the schema as the last release made it with ``metadata.create_all``.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written out table by table (not ``create_all``): later changes to ``bot/core/db.py`` must not
change what this revision creates. A table or index that already exists is left alone, so a
database made before migrations existed is adopted (stamped) here: for the last release's
database nothing is created, for an older one the tables and indexes it lacked are added, as
``create_all`` used to do on start.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMPTZ = sa.DateTime(timezone=True)  # bot.core.db.UTCDateTime


def _existing() -> tuple[set[str], set[str]]:
    """Tables and index names already there (nothing when only printing SQL)."""
    if op.get_context().as_sql:
        return set(), set()
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    indexes = {index["name"] for table in tables for index in inspector.get_indexes(table)}
    return tables, indexes


def upgrade() -> None:
    tables, indexes = _existing()

    def table(name: str, *elements: sa.Column | sa.Constraint) -> None:
        if name not in tables:
            op.create_table(name, *elements)

    def index(name: str, table_name: str, columns: list[str], **kw: object) -> None:
        if name not in indexes:
            op.create_index(name, table_name, columns, **kw)

    table(
        "conversations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("rasa_language", sa.String(2)),
        sa.Column("locale", sa.String(16)),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, nullable=False),
        sa.Column("closed_at", TIMESTAMPTZ),
    )
    index("ix_conversations_updated", "conversations", ["updated_at"])
    index(
        "uq_conversations_open",
        "conversations",
        ["channel", "sender"],
        unique=True,
        sqlite_where=sa.text("owner != 'closed'"),
        postgresql_where=sa.text("owner != 'closed'"),
    )

    table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(2)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
    )
    index("ix_messages_conversation", "messages", ["conversation_id", "id"])

    table(
        "handoffs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("priority_rank", sa.Integer, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("intents", sa.JSON),
        sa.Column("slots", sa.JSON),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_at", TIMESTAMPTZ),
        sa.Column("first_reply_at", TIMESTAMPTZ),
        sa.Column("ended_at", TIMESTAMPTZ),
        sa.Column("outcome", sa.String(16)),
    )
    index("ix_handoffs_open", "handoffs", ["ended_at", "priority_rank", "created_at"])

    table(
        "agents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("languages", sa.String(32), nullable=False),
        sa.Column("presence", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("last_seen_at", TIMESTAMPTZ),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
    )

    table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("expires_at", TIMESTAMPTZ, nullable=False),
    )

    table(
        "csat",
        sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("asked_at", TIMESTAMPTZ, nullable=False),
        sa.Column("score", sa.Integer),
        sa.Column("answered_at", TIMESTAMPTZ),
    )

    table(
        "processed_updates",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("update_id", sa.String(128), primary_key=True),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
    )

    table(
        "conversation_refs",
        sa.Column("conversation_id", sa.String(36), sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    index("ix_conversation_refs_value", "conversation_refs", ["kind", "value"])

    table(
        "agent_links",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("external_id", sa.String(128), primary_key=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("agents.id"), nullable=False),
    )

    table(
        "business_hours",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )

    table(
        "outages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("services", sa.String(64), nullable=False),
        sa.Column("started_at", TIMESTAMPTZ, nullable=False),
        sa.Column("expected_fix_at", TIMESTAMPTZ),
        sa.Column("resolved_at", TIMESTAMPTZ),
    )

    table(
        "nlu_turns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_event_id", sa.Integer, nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("intent", sa.String(64)),
        sa.Column("confidence", sa.Float),
        sa.Column("suggestion", sa.String(64)),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assigned_intent", sa.String(64)),
        sa.Column("assigned_by", sa.String(64)),
        sa.Column("assigned_at", TIMESTAMPTZ),
        sa.Column("exported_at", TIMESTAMPTZ),
    )
    index("ix_nlu_turns_created", "nlu_turns", ["created_at"])
    index("ix_nlu_turns_status_language", "nlu_turns", ["status", "language"])
    index("ix_nlu_turns_conversation", "nlu_turns", ["conversation_id", "created_at"])

    table(
        "insights_cursor",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("last_event_id", sa.Integer, nullable=False),
    )

    table(
        "topic_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("window_start", TIMESTAMPTZ, nullable=False),
        sa.Column("window_end", TIMESTAMPTZ, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("baseline", sa.Float, nullable=False),
        sa.Column("top_intents", sa.JSON),
        sa.Column("created_at", TIMESTAMPTZ, nullable=False),
        sa.Column("notified", sa.Boolean, nullable=False),
        sa.UniqueConstraint("topic", "window_start", name="uq_topic_alerts_window"),
    )


def downgrade() -> None:
    for name in (
        "topic_alerts",
        "insights_cursor",
        "nlu_turns",
        "outages",
        "business_hours",
        "agent_links",
        "conversation_refs",
        "processed_updates",
        "csat",
        "agent_sessions",
        "agents",
        "handoffs",
        "messages",
        "conversations",
    ):
        op.drop_table(name)
