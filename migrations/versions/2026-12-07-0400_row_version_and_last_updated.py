"""row_version and row_updated_at on every table served as FHIR; fhir_received

Revision ID: 0017_h
Revises: 0016_f
Create Date: 2026-12-07 04:00:00

FHIR's `meta.versionId`, `meta.lastUpdated`, ETag, Last-Modified and `_lastUpdated` (issue 24,
decision 0035). Both columns are added in place (no table rebuild): the version with a constant
default that fills every existing row, the time nullable and then set, in one statement a table, to
the moment of the upgrade — what is known of when those rows last changed is only that it was
before now. From here on the database keeps both (`kit.db.Versioned`).

`fhir_received`: a projected resource (Patient, Observation) as it was sent, served back as sent
while its row is unchanged (issue 24: Synthea's names, addresses, telecom kept).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_h"
down_revision = "0016_f"
branch_labels = None
depends_on = None

TABLES = (
    "resident",
    "institution",
    "staff",
    "family_doctor_team",
    "schedule",
    "slot",
    "booking",
    "referral",
    "exam_order",
    "exam_report",
    "imaging_study",
    "clinical_observation",
    "chronic_register",
    "claim",
    "encounter",
    "fhir_resource",
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    now = (
        "strftime('%Y-%m-%d %H:%M:%f', 'now', '+8 hours')"
        if sqlite
        else "(CURRENT_TIMESTAMP AT TIME ZONE 'Asia/Shanghai')"
    )
    for table in TABLES:
        op.add_column(table, sa.Column("row_version", sa.Integer(), server_default="1", nullable=False))
        op.add_column(table, sa.Column("row_updated_at", sa.DateTime(), nullable=True))
        op.execute(f"UPDATE {table} SET row_updated_at = {now}")
        op.create_index(f"ix_{table}_row_updated_at", table, ["row_updated_at"])
    op.create_table(
        "fhir_received",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("local_id", sa.String(length=40), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_received")),
        sa.UniqueConstraint("resource_type", "local_id", name=op.f("uq_fhir_received_resource_type")),
    )


def downgrade() -> None:
    op.drop_table("fhir_received")
    for table in TABLES:
        op.drop_index(f"ix_{table}_row_updated_at", table_name=table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("row_updated_at")
            batch_op.drop_column("row_version")
