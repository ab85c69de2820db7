"""conversation_notes, agents.ui_language, handoffs.wrap_up, nlu_turns.suggestion_confidence: the
agents' workspace (agents' internal notes on a conversation, the console's language, the wrap-up
code of a closed chat) and how sure the model was of the intent the insights suggest.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:02:04.826323
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_notes_conversation", ["conversation_id", "id"], unique=False)

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ui_language", sa.String(length=2), nullable=True))

    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wrap_up", sa.String(length=32), nullable=True))

    with op.batch_alter_table("nlu_turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggestion_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nlu_turns", schema=None) as batch_op:
        batch_op.drop_column("suggestion_confidence")

    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("wrap_up")

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("ui_language")

    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_notes_conversation")

    op.drop_table("conversation_notes")
