"""Chronic visits keep the national follow-up record's fields; a referral its urgency (issue 22)

Revision ID: 0017_a
Revises: 0016_f
Create Date: 2026-12-07 04:00:00

The 高血压/2型糖尿病患者随访服务记录表 asks for the visit's way, symptoms, signs, lifestyle, drugs,
classification, referral and next date; before, a visit kept only the measurements. The way, the
classification and the next date the doctor set get columns (lists and figures read them); the rest
of the form is one JSON document, as the form prints it. The 双向转诊单 names how urgent an upward
referral is (routine | urgent); rows before this have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_a"
down_revision = "0016_f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chronic_visit") as batch:
        batch.add_column(sa.Column("way", sa.String(4), nullable=True))
        batch.add_column(sa.Column("visit_class", sa.String(8), nullable=True))
        batch.add_column(sa.Column("next_visit_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("form_json", sa.Text(), nullable=True))
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("urgency", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("urgency")
    with op.batch_alter_table("chronic_visit") as batch:
        batch.drop_column("form_json")
        batch.drop_column("next_visit_on")
        batch.drop_column("visit_class")
        batch.drop_column("way")
