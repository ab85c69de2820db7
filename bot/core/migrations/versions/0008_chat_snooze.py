"""handoffs.snoozed_until, handoffs.snoozed_after_id: an agent snoozes a chat they have
(handoff/snooze.py) until a time or the customer's next message, whichever comes first; the state
is in the database so every gateway replica sees the same.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("snoozed_after_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("snoozed_after_id")
        batch_op.drop_column("snoozed_until")
