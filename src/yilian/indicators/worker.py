"""DuckDB attached to the platform's database, and the child process the platform runs it in.

Why a child process (decision 0018): DuckDB's SQLite scanner carries its own copy of SQLite. When
it opens the live database file inside a process that also holds it open through Python's sqlite3
(a server, a `yilian` command with a session), closing DuckDB's handle releases every POSIX lock
that process holds on the file; the next outside process to open and close the database then takes
itself for the last user and deletes the live WAL, and what the server writes afterwards is lost.
In a process of its own DuckDB's locks are its own, like any other reader's.

The child is `python -m yilian.indicators.worker`: a job (JSON on stdin: where to attach, the facts
as views, the queries) in, the rows (JSON on stdout) out. It imports DuckDB and nothing of the
platform's web or ORM code, so it starts in well under a second.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import duckdb


def _extension(name: str) -> Path:
    package = importlib.import_module(f"duckdb_extension_{name}")
    home = Path(str(package.__file__)).parent
    return home / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"


def connect(attach: dict[str, str]) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A DuckDB connection with the platform database attached read-only as `p`, and the schema
    its tables are under. `attach` is {"sqlite": path} or {"postgres": libpq DSN}. Only in a process
    that does not hold the SQLite database open (see the module's docstring)."""
    connection = duckdb.connect()
    if "sqlite" in attach:
        connection.execute(f"LOAD '{_extension('sqlite_scanner')}'")
        connection.execute(f"ATTACH {_literal(attach['sqlite'])} AS p (TYPE sqlite, READ_ONLY)")
        return connection, "p"
    connection.execute(f"LOAD '{_extension('postgres_scanner')}'")
    connection.execute(f"ATTACH {_literal(attach['postgres'])} AS p (TYPE postgres, READ_ONLY)")
    return connection, "p.public"


def _literal(text: str) -> str:
    """A SQL string literal (ATTACH takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def run_job(job: dict[str, Any]) -> list[list[list[Any]]]:
    """Create the fact views (their SQL reads the attached schema `p`), run each query, close.
    Each query's rows, values as JSON carries them (counts stay whole, sums of yuan are floats)."""
    connection, _ = connect(job["attach"])
    try:
        for name, sql in job["views"].items():
            connection.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
        return [
            [[_plain(value) for value in row] for row in connection.execute(query).fetchall()]
            for query in job["queries"]
        ]
    finally:
        connection.close()


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    json.dump(run_job(job), sys.stdout)


if __name__ == "__main__":
    main()
