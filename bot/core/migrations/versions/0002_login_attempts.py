"""login_attempts: console log-in attempts for the throttle (handoff/throttle.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 14:16:34.876408
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_client", ["client", "attempted_at"], unique=False)
        batch_op.create_index("ix_login_attempts_time", ["attempted_at"], unique=False)
        batch_op.create_index("ix_login_attempts_username", ["username", "attempted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_username")
        batch_op.drop_index("ix_login_attempts_time")
        batch_op.drop_index("ix_login_attempts_client")

    op.drop_table("login_attempts")
