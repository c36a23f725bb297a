"""safety check-ins: "are you safe?" after a message the detector was unsure about

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "safety_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["safety_alerts.id"]),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_safety_checkins_cohort_id", "safety_checkins", ["cohort_id"], unique=False
    )
    op.create_index(
        "ix_safety_checkins_participant_asked",
        "safety_checkins",
        ["participant_id", "asked_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_safety_checkins_participant_asked", table_name="safety_checkins")
    op.drop_index("ix_safety_checkins_cohort_id", table_name="safety_checkins")
    op.drop_table("safety_checkins")
