"""messages.source_key: a customer message's key at its source (Telegram chat and message id, Slack
channel and ts, a web chat request), unique where set, so that a retried or replayed update finds
the message it stored before instead of storing it twice (bot/core/store.py). Existing rows keep
no key (NULL), which the partial unique index leaves alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KEYED = sa.text("source_key IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_key", sa.String(length=160), nullable=True))
    op.create_index(
        "ux_messages_source_key",
        "messages",
        ["source_key"],
        unique=True,
        sqlite_where=KEYED,
        postgresql_where=KEYED,
    )


def downgrade() -> None:
    op.drop_index("ux_messages_source_key", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("source_key")
