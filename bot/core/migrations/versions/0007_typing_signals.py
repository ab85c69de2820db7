"""typing_signals: who is typing in a conversation (bot/core/typing_signals.py), shared by every
gateway replica through the change feed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "typing_signals",
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "side"),
    )
    with op.batch_alter_table("typing_signals", schema=None) as batch_op:
        batch_op.create_index("ix_typing_signals_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("typing_signals", schema=None) as batch_op:
        batch_op.drop_index("ix_typing_signals_at")
    op.drop_table("typing_signals")
