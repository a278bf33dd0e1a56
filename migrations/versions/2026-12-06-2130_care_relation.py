"""care_relation: the institutions each resident has been seen at, counted by triggers on encounter

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 21:30:00

The privacy scope's "cared for here" test (auth.scoping) searched a resident's encounters for one at
the institution: at county scale a list or figure of an institution's residents probed `encounter`
300,000 times (decision 0017). This table holds one row per (institution, resident) with the number
of encounters, so the test is one probe of its primary key.

The database keeps it exact, whatever writes the encounter (the API, an import, a FHIR bundle, a
bulk COPY, a merge that moves encounters to the surviving record):
- PostgreSQL: statement-level triggers over transition tables, so a COPY of a million encounters
  adds its pairs in one grouped INSERT … ON CONFLICT. Counts, not presence: a concurrent insert and
  delete of the same pair serialize on its row, and the row goes only when its count reaches zero.
- SQLite: row-level triggers (it has no others); one writer at a time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PAIR = "institution_id, resident_id"
ADD_TO_COUNT = (
    f"ON CONFLICT ({PAIR}) DO UPDATE SET encounters = care_relation.encounters + EXCLUDED.encounters"
)
# The rows of an UPDATE whose institution or resident changed (a merge); other updates, such as a
# discharge date, move no count.
MOVED = """
    FROM new_encounters n JOIN old_encounters o ON o.id = n.id
    WHERE n.institution_id <> o.institution_id OR n.resident_id <> o.resident_id
"""

# PostgreSQL. Pairs are added and taken away in key order, so concurrent writers lock rows in one
# order and do not deadlock.
POSTGRES_FUNCTIONS = {
    "care_relation_inserted": f"""
        INSERT INTO care_relation ({PAIR}, encounters)
        SELECT {PAIR}, count(*) FROM new_encounters GROUP BY {PAIR} ORDER BY {PAIR}
        {ADD_TO_COUNT};
    """,
    "care_relation_deleted": """
        PERFORM care_relation_take(array_agg(institution_id), array_agg(resident_id)) FROM old_encounters;
    """,
    "care_relation_updated": f"""
        INSERT INTO care_relation ({PAIR}, encounters)
        SELECT n.institution_id, n.resident_id, count(*) {MOVED}
        GROUP BY n.institution_id, n.resident_id ORDER BY n.institution_id, n.resident_id
        {ADD_TO_COUNT};
        PERFORM care_relation_take(array_agg(o.institution_id), array_agg(o.resident_id)) {MOVED};
    """,
}

# One count taken away per (institution, resident) element; a pair whose count reaches zero goes.
POSTGRES_TAKE = f"""
    CREATE FUNCTION care_relation_take(institutions integer[], residents integer[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        WITH gone AS (
            SELECT institution_id, resident_id, count(*) AS n
            FROM unnest(institutions, residents) AS pairs(institution_id, resident_id)
            GROUP BY {PAIR}
        ), locked AS (
            SELECT c.institution_id, c.resident_id, c.encounters - gone.n AS remaining
            FROM care_relation c JOIN gone USING ({PAIR})
            ORDER BY c.institution_id, c.resident_id
            FOR UPDATE OF c
        ), emptied AS (
            DELETE FROM care_relation c USING locked
            WHERE c.institution_id = locked.institution_id AND c.resident_id = locked.resident_id
              AND locked.remaining <= 0
        )
        UPDATE care_relation c SET encounters = locked.remaining FROM locked
        WHERE c.institution_id = locked.institution_id AND c.resident_id = locked.resident_id
          AND locked.remaining > 0;
    END
    $$
"""

POSTGRES_TRIGGERS = {
    # trigger name: (event, transition tables, function)
    "encounter_care_inserted": ("INSERT", "NEW TABLE AS new_encounters", "care_relation_inserted"),
    "encounter_care_deleted": ("DELETE", "OLD TABLE AS old_encounters", "care_relation_deleted"),
    "encounter_care_updated": (
        "UPDATE",
        "OLD TABLE AS old_encounters NEW TABLE AS new_encounters",
        "care_relation_updated",
    ),
}

SQLITE_ADD = f"""
    INSERT INTO care_relation ({PAIR}, encounters) VALUES (NEW.institution_id, NEW.resident_id, 1)
    ON CONFLICT ({PAIR}) DO UPDATE SET encounters = encounters + 1;
"""
SQLITE_TAKE = """
    UPDATE care_relation SET encounters = encounters - 1
    WHERE institution_id = OLD.institution_id AND resident_id = OLD.resident_id;
    DELETE FROM care_relation
    WHERE institution_id = OLD.institution_id AND resident_id = OLD.resident_id AND encounters <= 0;
"""
SQLITE_TRIGGERS = {
    "encounter_care_inserted": f"AFTER INSERT ON encounter BEGIN {SQLITE_ADD} END",
    "encounter_care_deleted": f"AFTER DELETE ON encounter BEGIN {SQLITE_TAKE} END",
    "encounter_care_updated": (
        "AFTER UPDATE OF institution_id, resident_id ON encounter "
        "WHEN NEW.institution_id <> OLD.institution_id OR NEW.resident_id <> OLD.resident_id "
        f"BEGIN {SQLITE_ADD} {SQLITE_TAKE} END"
    ),
}


def upgrade() -> None:
    op.create_table(
        "care_relation",
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("encounters", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institution.id"], name=op.f("fk_care_relation_institution_id_institution")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_care_relation_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("institution_id", "resident_id", name=op.f("pk_care_relation")),
    )
    op.execute(
        f"INSERT INTO care_relation ({PAIR}, encounters) "
        f"SELECT {PAIR}, count(*) FROM encounter GROUP BY {PAIR}"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_TAKE)
        for name, body in POSTGRES_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body} RETURN NULL; END $$"
            )
        for trigger, (event, tables, function) in POSTGRES_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER {event} ON encounter REFERENCING {tables} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    else:
        for trigger, definition in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {trigger} {definition}")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}" + (" ON encounter" if postgres else ""))
    if postgres:
        for name in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION {name}()")
        op.execute("DROP FUNCTION care_relation_take(integer[], integer[])")
    op.drop_table("care_relation")
