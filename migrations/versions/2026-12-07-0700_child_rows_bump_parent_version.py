"""A change to a row a FHIR resource is assembled from bumps the resource's version; export workers

Revision ID: 0018_f
Revises: 0017_h
Create Date: 2026-12-07 07:00:00

A Patient carries its resident's other identifiers (`resident_identifier`), an Encounter its
diagnoses (`encounter_diagnosis`), a CareTeam its members (`team_member`), an ImagingStudy its series
and instances. A change to one of those rows is a change of the resource: its parent's `row_version`
and `row_updated_at` move with it (issue 24, decision 0036), whatever writes it — so the triggers are
the database's, as the columns' own defaults are (0017_h). PostgreSQL: one statement-level trigger
per event with transition tables (one UPDATE a statement, not a row); SQLite: row triggers. A raw
load (`kit.bulk.BulkLoader`) creates parents and children together and skips them
(`yilian.bulk_load` on PostgreSQL; on SQLite the loader lifts them inside its write transaction).

`fhir_export.worker` and `heartbeat_at`: the server process running a bulk export and its last
sign of life, so a job cut off by a server stop is failed, not in progress for ever.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_f"
down_revision = "0017_h"
branch_labels = None
depends_on = None

# child table, parent table, the parent's key of a child row given as SQL over a row alias (SQLite:
# NEW/OLD) or a set of rows (PostgreSQL: the transition table)
CHILDREN = (
    ("resident_identifier", "resident", "resident_id", None),
    ("encounter_diagnosis", "encounter", "encounter_id", None),
    ("team_member", "family_doctor_team", "team_id", None),
    ("imaging_series", "imaging_study", "study_id", None),
    (
        "imaging_instance",
        "imaging_study",
        "series_id",
        "SELECT study_id FROM imaging_series WHERE id IN ({keys})",
    ),
)
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now', '+8 hours')"
PG_NOW = "(clock_timestamp() AT TIME ZONE 'Asia/Shanghai')"


def _sqlite(child: str, parent: str, key: str, via: str | None) -> list[str]:
    out = []
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        keys = ", ".join(f"{row}.{key}" for row in rows)
        target = via.format(keys=keys) if via else keys
        out.append(
            f"CREATE TRIGGER yl_bump_{child}_{event[:3].lower()} AFTER {event} ON {child} FOR EACH ROW "
            f"BEGIN UPDATE {parent} SET row_version = row_version + 1, row_updated_at = {SQLITE_NOW} "
            f"WHERE id IN ({target}); END"
        )
    return out


def _postgresql(child: str, parent: str, key: str, via: str | None) -> list[str]:
    def bump(table: str) -> str:
        keys = f"SELECT {key} FROM {table}"
        target = via.format(keys=keys) if via else keys
        return (
            f"UPDATE {parent} SET row_version = row_version + 1, row_updated_at = {PG_NOW} "
            f"WHERE id IN ({target});"
        )

    function = f"yl_bump_{child}"
    out = [
        f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('yilian.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        {bump("new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {bump("old_rows")}
    ELSE
        {bump("(SELECT * FROM old_rows UNION ALL SELECT * FROM new_rows) AS changed")}
    END IF;
    RETURN NULL;
END $$"""
    ]
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        out.append(
            f"CREATE TRIGGER yl_bump_{child}_{event[:3].lower()} AFTER {event} ON {child} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return out


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Which server process runs a bulk export and its last sign of life: a job whose process is
    # gone is failed on its status read instead of staying in progress for ever.
    op.add_column("fhir_export", sa.Column("worker", sa.String(120), nullable=True))
    op.add_column("fhir_export", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    for child, parent, key, via in CHILDREN:
        for statement in (_sqlite if sqlite else _postgresql)(child, parent, key, via):
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for child, *_ in CHILDREN:
        for event in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS yl_bump_{child}_{event}" + ("" if sqlite else f" ON {child}"))
        if not sqlite:
            op.execute(f"DROP FUNCTION IF EXISTS yl_bump_{child}()")
    with op.batch_alter_table("fhir_export") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker")
