"""fhir_source, and the resident ID number no longer unique

Revision ID: 0016_c
Revises: 0016_h
Create Date: 2026-12-07 00:40:00

- `fhir_source`: the id a resource had in the system that sent it, per writer, and the row it
  became here: importing a folder or a Bundle again matches them and adds nothing.
- `resident.id_number`: an index, not a unique constraint. A registrar who registers a number that
  is already held outside their scope gets a record of their own instead of learning that the other
  exists (decision 0021).

SQLite cannot drop a unique constraint: the table is rebuilt, which needs foreign keys off, and
SQLite ignores that pragma inside a transaction; so this step commits what came before, rebuilds
with the check off, verifies every foreign key, and begins again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_c"
down_revision = "0016_h"
branch_labels = None
depends_on = None


def _rebuild_resident(unique: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        if unique:
            op.drop_index("ix_resident_id_number", table_name="resident")
            op.create_unique_constraint("uq_resident_id_number", "resident", ["id_number"])
        else:
            op.drop_constraint("uq_resident_id_number", "resident", type_="unique")
            op.create_index("ix_resident_id_number", "resident", ["id_number"])
        return
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        with op.batch_alter_table("resident", recreate="always") as batch_op:
            if unique:
                batch_op.drop_index("ix_resident_id_number")
                batch_op.create_unique_constraint("uq_resident_id_number", ["id_number"])
            else:
                batch_op.drop_constraint("uq_resident_id_number", type_="unique")
                batch_op.create_index("ix_resident_id_number", ["id_number"], unique=False)
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by rebuilding resident: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        raise
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade() -> None:
    op.create_table(
        "fhir_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("local_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_source")),
        sa.UniqueConstraint("owner", "resource_type", "source_id", name=op.f("uq_fhir_source_owner")),
    )
    _rebuild_resident(unique=False)


def downgrade() -> None:
    _rebuild_resident(unique=True)
    op.drop_table("fhir_source")
