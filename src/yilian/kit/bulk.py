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
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        else:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        cursor.close()

    def commit(self) -> None:
        if self.sqlite:
            self.raw.cursor().execute("COMMIT")
            self._begin()
        else:
            self.raw.commit()

    def close(self) -> None:
        if self.sqlite:
            cursor = self.raw.cursor()
            cursor.execute("COMMIT")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
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
