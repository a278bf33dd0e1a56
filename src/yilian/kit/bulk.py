"""Fast bulk loading of generated rows: COPY on PostgreSQL, executemany on SQLite.

Used by batch jobs that create millions of rows (the synthetic county, imports). Values must be
plain: int, str, bool, None, or ISO date/datetime strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, text

from yilian.kit.db import VERSIONED_TABLES

CST = timezone(timedelta(hours=8))


class BulkLoader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        if self.sqlite:
            cursor = self.raw.cursor()
            # Generated rows are consistent by construction; checking each FK would triple load time.
            cursor.execute("PRAGMA foreign_keys=OFF")
            # Millions of rows land in randomly ordered indexes (names, ID numbers): keep their pages
            # in memory (256 MiB at most) instead of re-reading them from disk for every chunk.
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()
        else:
            # A load creates parents and their child rows together: the triggers that bump a parent's
            # version when a child row changes (migration 0018_f) stand aside for this connection.
            cursor = self.raw.cursor()
            cursor.execute("SET yilian.bulk_load = 'on'")
            cursor.close()
        # SQLite's bump triggers lifted inside the current write transaction: name → CREATE statement.
        self._lifted: dict[str, str] = {}
        self._begin()

    def _begin(self) -> None:
        """The engine runs pysqlite in autocommit mode (SQLAlchemy emits BEGIN itself); so do we here,
        or every inserted row would be its own transaction."""
        if self.sqlite:
            self.raw.cursor().execute("BEGIN")

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if table in VERSIONED_TABLES and "row_updated_at" not in columns:
            # The one column a raw load would leave empty (row_version has a server default).
            stamp = sqlite_datetime(datetime.now(CST).replace(tzinfo=None))
            columns = [*columns, "row_updated_at"]
            rows = [(*row, stamp) for row in rows]
        cursor = self.raw.cursor()
        if self.sqlite:
            self._lift_triggers(cursor, table)
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        else:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        cursor.close()

    def _lift_triggers(self, cursor: Any, table: str) -> None:
        """SQLite has no per-connection switch for triggers: the bump triggers of `table` are dropped
        in the loader's write transaction and made again before it commits. No other connection
        writes meanwhile (SQLite has one writer) or sees them missing (readers see the last commit)."""
        found = cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name LIKE 'yl_bump_%'",
            (table,),
        ).fetchall()
        for name, sql in found:
            cursor.execute(f"DROP TRIGGER {name}")
            self._lifted[name] = sql

    def _restore_triggers(self) -> None:
        cursor = self.raw.cursor()
        for sql in self._lifted.values():
            cursor.execute(sql)
        cursor.close()
        self._lifted.clear()

    def commit(self) -> None:
        if self.sqlite:
            self._restore_triggers()
            self.raw.cursor().execute("COMMIT")
            self._begin()
        else:
            self.raw.commit()

    def close(self) -> None:
        if self.sqlite:
            self._restore_triggers()
            cursor = self.raw.cursor()
            cursor.execute("COMMIT")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
        else:
            cursor = self.raw.cursor()
            cursor.execute("RESET yilian.bulk_load")
            cursor.close()
            self.raw.commit()
        self.raw.close()

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


def sqlite_datetime(value: Any) -> str:
    """The text form SQLAlchemy stores DateTime in on SQLite (and PostgreSQL's COPY accepts)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")
