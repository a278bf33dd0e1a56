"""The one bulk writer: COPY on PostgreSQL, one executemany on SQLite (decision 0033).

`write_rows` is the only code that writes many rows at once. Its callers: the synthetic county's
millions of rows (`BulkLoader`, a connection of its own with the checks a generated load can skip),
the audit chain's batches (`kit.audit.append_events`, in the caller's transaction), and imports that
need their new ids back (`insert_rows`: FHIR Bundles, the resident spreadsheet), which reserve the
ids first. Values must be plain for the driver: int, str, bool, None, date, datetime
(`driver_row` makes a SQLite row of them as SQLAlchemy would store it). A versioned table's
`row_updated_at` is stamped with the database's clock when the rows do not carry it (decision 0035:
`row_version` has a server default), so no raw load leaves it empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, Table, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yilian.kit.db import VERSIONED_TABLES, Base, local_now, psycopg_connection


def write_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Append rows to `table` in the connection's transaction: one COPY (PostgreSQL) or one
    executemany (SQLite) on the driver's own cursor, without a statement or a parameter set per row
    on SQLAlchemy's side."""
    if table in VERSIONED_TABLES and "row_updated_at" not in columns:
        stamp = connection.scalar(select(local_now()))
        if connection.dialect.name == "sqlite":
            stamp = sqlite_datetime(stamp)
        columns = [*columns, "row_updated_at"]
        rows = ((*row, stamp) for row in rows)
    names = ", ".join(columns)
    driver = connection.connection.driver_connection
    dbapi_error = connection.dialect.loaded_dbapi.Error
    if isinstance(driver, psycopg.Connection):
        statement = f"COPY {table} ({names}) FROM STDIN"
    else:
        statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
    try:
        if isinstance(driver, psycopg.Connection):
            with psycopg_connection(connection).cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(statement, rows)
        finally:
            cursor.close()
    except dbapi_error as error:
        # Raised as SQLAlchemy raises a statement's failure (IntegrityError for a duplicate …), so a
        # caller handles a bulk write's error as it would an INSERT's, without the rows' values.
        raise DBAPIError.instance(statement, None, error, dbapi_error) from error


def sqlite_datetime(value: Any) -> str:
    """The text form SQLAlchemy stores DateTime in on SQLite (and PostgreSQL's COPY accepts)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def driver_row(values: Iterable[Any], *, sqlite: bool) -> tuple[Any, ...]:
    """A row as the driver takes it: on SQLite, times, dates and booleans as SQLAlchemy stores them
    (text that sorts and compares like the rest of the column, 0/1); psycopg adapts them itself."""
    if not sqlite:
        return tuple(values)
    return tuple(
        sqlite_datetime(v)
        if isinstance(v, datetime)
        else v.isoformat()
        if isinstance(v, date)
        else int(v)
        if isinstance(v, bool)
        else v
        for v in values
    )


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows of one model and return their new ids in the rows' order.

    The ids are reserved first (PostgreSQL: from the table's sequence; SQLite: after the largest,
    under the write lock the transaction holds since its BEGIN IMMEDIATE), then the rows go through
    `write_rows` with them. Rows are keyed by column name; a column a row leaves out takes its
    scalar default, as an INSERT through the model would."""
    if not rows:
        return []
    session.flush()  # what the session holds goes first, as the ORM path's autoflush would do
    connection = session.connection()
    table: Table = model.__table__  # type: ignore[assignment]
    ids = reserve_ids(connection, table.name, len(rows))
    given = {name for row in rows for name in row}
    defaults = {
        c.name: c.default.arg  # type: ignore[attr-defined]  # a scalar default
        for c in table.columns
        if c.name not in given and c.default is not None and c.default.is_scalar
    }
    columns = [name for name in given if name != "id"]
    sqlite = connection.dialect.name == "sqlite"
    write_rows(
        connection,
        table.name,
        ["id", *columns, *defaults],
        [
            driver_row((ident, *(row.get(name) for name in columns), *defaults.values()), sqlite=sqlite)
            for ident, row in zip(ids, rows, strict=True)
        ],
    )
    return ids


def reserve_ids(connection: Connection, table: str, count: int) -> list[int]:
    """`count` new ids of `table`, nobody else's (see `insert_rows`)."""
    if connection.dialect.name == "sqlite":
        last = connection.scalar(text(f"SELECT max(id) FROM {table}")) or 0
        return list(range(last + 1, last + 1 + count))
    return list(
        connection.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table, "id"))).select_from(
                func.generate_series(1, count)
            )
        )
    )


class BulkLoader:
    """A connection for a generated load (the synthetic county): SQLite skips foreign-key checks and
    keeps index pages in memory; the triggers that bump a parent's version when a child row changes
    (migration 0018_f) stand aside, since a load creates parents and their children together; rows
    go through `write_rows`; `commit` ends a chunk."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.connection = engine.connect()
        # SQLite's bump triggers lifted inside the current write transaction: name → CREATE statement.
        self._lifted: dict[str, str] = {}
        if self.sqlite:
            # Outside a transaction (SQLite ignores foreign_keys inside one), on the driver itself.
            driver = self.connection.connection.driver_connection
            # Generated rows are consistent by construction; checking each FK would triple load time.
            driver.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            # Millions of rows land in randomly ordered indexes (names, ID numbers): keep their pages
            # in memory (256 MiB at most) instead of re-reading them from disk for every chunk.
            driver.execute("PRAGMA cache_size=-262144")  # type: ignore[union-attr]
            driver.execute("PRAGMA temp_store=MEMORY")  # type: ignore[union-attr]
        else:
            # A session setting the bump triggers read (they stand aside for this connection only).
            self.connection.exec_driver_sql("SET yilian.bulk_load = 'on'")
            self.connection.commit()
        self.transaction = self.connection.begin()

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.sqlite:
            self._lift_triggers(table)
        write_rows(self.connection, table, columns, rows)

    def _lift_triggers(self, table: str) -> None:
        """SQLite has no per-connection switch for triggers: the bump triggers of `table` are dropped
        in the loader's write transaction and made again before it commits. No other connection
        writes meanwhile (SQLite has one writer) or sees them missing (readers see the last commit)."""
        found = self.connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name LIKE 'yl_bump_%'",
            (table,),
        ).all()
        for name, sql in found:
            self.connection.exec_driver_sql(f"DROP TRIGGER {name}")
            self._lifted[name] = sql

    def _restore_triggers(self) -> None:
        for sql in self._lifted.values():
            self.connection.exec_driver_sql(sql)
        self._lifted.clear()

    def commit(self) -> None:
        self._restore_triggers()
        self.transaction.commit()
        self.transaction = self.connection.begin()

    def close(self) -> None:
        self._restore_triggers()
        self.transaction.commit()
        if self.sqlite:
            self.connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        else:
            self.connection.exec_driver_sql("RESET yilian.bulk_load")
            self.connection.commit()
        self.connection.close()

    def reset_sequences(self, tables: Sequence[str]) -> None:
        """After explicit ids, move PostgreSQL sequences past them (SQLite needs nothing)."""
        if self.sqlite:
            return
        with self.engine.begin() as connection:
            for table in tables:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                    )
                )
