"""report covering index on responses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 22:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_responses_cohort_type_participant",
        "responses",
        ["cohort_id", "answer_type", "participant_id", "day", "prompt_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_responses_cohort_type_participant", table_name="responses")
