"""verification_codes, verified_identities: one-time codes, proven identities (bot/core/identity.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:17:50.839667
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_verification_codes_conversation", ["conversation_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_verification_codes_created", ["created_at"], unique=False)
        batch_op.create_index("ix_verification_codes_number", ["number_hash", "created_at"], unique=False)

    op.create_table(
        "verified_identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verified_identities", schema=None) as batch_op:
        batch_op.create_index("ix_verified_identities_customer", ["customer_id", "verified_at"], unique=False)
        batch_op.create_index("ix_verified_identities_expires", ["expires_at"], unique=False)
        batch_op.create_index("ix_verified_identities_sender", ["channel", "sender"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verified_identities", schema=None) as batch_op:
        batch_op.drop_index("ix_verified_identities_sender")
        batch_op.drop_index("ix_verified_identities_expires")
        batch_op.drop_index("ix_verified_identities_customer")

    op.drop_table("verified_identities")
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_codes_number")
        batch_op.drop_index("ix_verification_codes_created")
        batch_op.drop_index("ix_verification_codes_conversation")

    op.drop_table("verification_codes")
