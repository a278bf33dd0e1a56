"""row_version and row_updated_at on every table served as FHIR; fhir_received; fhir_export

Revision ID: 0017_h
Revises: 0017_a
Create Date: 2026-12-07 04:00:00

FHIR's `meta.versionId`, `meta.lastUpdated`, ETag, Last-Modified and `_lastUpdated` (issue 24,
decision 0035). Both columns are added in place (no table rebuild): the version with a constant
default that fills every existing row, the time nullable and then set, in one statement a table, to
the moment of the upgrade — what is known of when those rows last changed is only that it was
before now. From here on the database keeps both (`kit.db.Versioned`).

`fhir_received`: a projected resource (Patient, Observation) as it was sent, served back as sent
while its row is unchanged (issue 24: Synthea's names, addresses, telecom kept).

`fhir_export`: FHIR Bulk Data `$export` jobs, who asked, and the files they wrote.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_h"
down_revision = "0017_a"
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

    op.create_table(
        "fhir_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("types", sa.String(length=400), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("request_url", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.String(length=200), nullable=False),
        sa.Column("output_json", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_fhir_export_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_export")),
        sa.UniqueConstraint("job", name=op.f("uq_fhir_export_job")),
    )
    op.create_index(op.f("ix_fhir_export_user_id"), "fhir_export", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fhir_export_user_id"), table_name="fhir_export")
    op.drop_table("fhir_export")
    op.drop_table("fhir_received")
    for table in TABLES:
        op.drop_index(f"ix_{table}_row_updated_at", table_name=table)
        # In place, not a batch rebuild: rebuilding encounter would drop 0015's triggers on it.
        op.execute(f"ALTER TABLE {table} DROP COLUMN row_updated_at")
        op.execute(f"ALTER TABLE {table} DROP COLUMN row_version")
