"""Every earlier revision, with data in it, upgrades to head on the engine under test.

For each revision a database is built at that revision (copied from one database upgraded step by
step, so the whole run costs one upgrade from base plus one from each revision to head), one row is
written into every table that exists there — built from the reflected columns, foreign keys
pointing at the rows written before — and the database is upgraded to head: every row is still
there, and what the migrations derive from rows (care_relation from encounters) is derived.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, Table, func, insert, inspect, select, text, types

from yilian.kit.db import make_engine
from yilian.kit.migrate import alembic_config, upgrade

SCRIPTS = ScriptDirectory.from_config(alembic_config())
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]
HEAD = SCRIPTS.get_current_head()
EARLIER = [revision for revision in REVISIONS if revision != HEAD]


@pytest.fixture(scope="module")
def built_at(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """URL of an empty database at each earlier revision (schema only)."""
    urls: dict[str, str] = {}
    if engine.dialect.name == "sqlite":
        folder = tmp_path_factory.mktemp("revisions")
        steps = f"sqlite:///{folder / 'steps.db'}"
        for revision in EARLIER:
            upgrade(steps, revision=revision)
            copy = folder / f"at-{revision}.db"
            with sqlite3.connect(folder / "steps.db") as source, sqlite3.connect(copy) as target:
                source.backup(target)
            urls[revision] = f"sqlite:///{copy}"
        yield urls
        return
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    prefix = f"yilian_rev_{os.getpid()}"
    names = [f"{prefix}_steps", *(f"{prefix}_{i}" for i in range(len(EARLIER)))]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {names[0]}"))
    steps = engine.url.set(database=names[0]).render_as_string(hide_password=False)
    for i, revision in enumerate(EARLIER):
        upgrade(steps, revision=revision)  # disposes its engine: the template has no session left
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {names[i + 1]} TEMPLATE {names[0]}"))
        urls[revision] = engine.url.set(database=names[i + 1]).render_as_string(hide_password=False)
    yield urls
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _value(table: Table, column: Column[Any], written: dict[str, dict[str, Any]]) -> Any:
    """A value of the column's type; a foreign key takes the referenced row's value."""
    for key in column.foreign_keys:
        target = key.column
        if target.table.name == table.name:
            return None if column.nullable else written_self_reference(table, column)
        return written[target.table.name][target.name]
    kind = column.type
    if isinstance(kind, types.Boolean):
        return False
    if isinstance(kind, types.Integer):
        return 1
    if isinstance(kind, types.Numeric) and not isinstance(kind, types.Float):
        return Decimal("12.34")
    if isinstance(kind, types.Float):
        return 1.5
    if isinstance(kind, types.DateTime):
        return datetime(2026, 11, 24, 9, 30)
    if isinstance(kind, types.Date):
        return date(2026, 11, 24)
    if isinstance(kind, types.JSON):
        return {"k": 1}
    if isinstance(kind, types.LargeBinary):
        return b"\x01"
    if isinstance(kind, types.String):  # also Text
        length = kind.length or 32
        return ("1" if length < 4 else f"{column.name}-1")[:length]
    raise AssertionError(f"no sample value for {table.name}.{column.name}: {kind!r}")


def written_self_reference(table: Table, column: Column[Any]) -> Any:
    raise AssertionError(f"{table.name}.{column.name} is a required reference to its own table")


def fill_every_table(engine: Engine) -> dict[str, dict[str, Any]]:
    """One row in every table, parents first; returns what was written, by table."""
    metadata = MetaData()
    metadata.reflect(engine)
    written: dict[str, dict[str, Any]] = {}
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            row = {column.name: _value(table, column, written) for column in table.columns}
            connection.execute(insert(table).values(**row))
            written[table.name] = row
    return written


@pytest.mark.parametrize("revision", EARLIER)
def test_a_database_with_data_at_each_earlier_revision_upgrades_to_head(
    built_at: dict[str, str], revision: str
) -> None:
    url = built_at[revision]
    engine = make_engine(url)
    try:
        written = fill_every_table(engine)
        assert written, f"no tables at {revision}"
        engine.dispose()
        upgrade(url)  # to head
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
            present = set(inspect(connection).get_table_names())
            metadata = MetaData()
            metadata.reflect(connection, only=[name for name in written if name in present])
            lost = []
            for name, row in written.items():
                if name not in present:
                    continue  # dropped by a later revision (none is today)
                table = metadata.tables[name]
                keys = [column for column in table.primary_key.columns if column.name in row]
                match = select(func.count()).select_from(table).where(*(c == row[c.name] for c in keys))
                if connection.scalar(match) != 1:
                    lost.append(name)
            assert not lost, f"rows written at {revision} missing at head: {lost}"
            assert written.keys() <= present, f"tables dropped since {revision}: {written.keys() - present}"
            if "encounter" in written and "care_relation" not in written:
                # 0015 counts what was seen before it: the encounter's institution has seen its resident.
                encounter = written["encounter"]
                seen = connection.execute(
                    text(
                        "SELECT encounters FROM care_relation WHERE institution_id = :i AND resident_id = :r"
                    ),
                    {"i": encounter["institution_id"], "r": encounter["resident_id"]},
                ).scalar()
                assert seen == 1
            if "conduct_record" in written and "staff_blacklisting" not in written:
                # 0018_l writes the blacklist periods of the points recorded before it: the row above
                # (1 point, a policy of 1 point for 1 day) puts its staff member on the list for a day.
                periods = connection.execute(
                    text("SELECT starts_on, ends_before FROM staff_blacklisting WHERE staff_id = :s"),
                    {"s": written["conduct_record"]["staff_id"]},
                ).all()
                assert [(str(start), str(end)) for start, end in periods] == [("2026-11-24", "2026-11-25")]
            connection.rollback()
    finally:
        engine.dispose()


def test_every_revision_but_head_is_covered() -> None:
    assert REVISIONS[0] == "0001" and len(EARLIER) == len(REVISIONS) - 1 >= 14
    assert Path(SCRIPTS.dir).is_dir()
