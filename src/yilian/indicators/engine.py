"""DuckDB over the platform's own database (read-only), the period's facts as views, and the queries.

DuckDB reads SQLite or PostgreSQL in place through its scanner extensions, installed from PyPI
(`duckdb-extension-sqlite-scanner`, `duckdb-extension-postgres-scanner`): nothing is downloaded at
run time and nothing is copied. Facts can also be written to Parquet, where Spark reads them.

The platform computes indicators with `suite_counts`, which runs DuckDB in a child process
(`yilian.indicators.worker`, decision 0018): DuckDB's own copy of SQLite must never open the live
database file inside a process that holds it open, or that process loses its file locks.
`DuckEngine` attaches in the calling process; it is for processes that hold no connection to the
database (the bench, the Spark parity test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from yilian.indicators import worker
from yilian.indicators.catalogue import FACTS, Period, Query, parse_period

# A dashboard request waits for the child at most this long (a province-wide year takes seconds).
CHILD_TIMEOUT_SECONDS = 600


def attachment(database_url: str) -> tuple[dict[str, str], str]:
    """What the worker attaches for a SQLAlchemy URL, and the schema the platform's tables are under."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return {"sqlite": str(url.database)}, "p"
    parts = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    dsn = " ".join(
        "{}='{}'".format(k, str(v).replace("\\", "\\\\").replace("'", "\\'")) for k, v in parts.items() if v
    )
    return {"postgres": dsn}, "p.public"


def fact_sql(fact: str, period: Period, schema: str, today: date | None = None) -> str:
    """The period's rows of a fact, in DuckDB's dialect over the attached platform database.
    Snapshots (who is signed, who is registered) are taken on the period's last day, or today for
    a period still running. Entered figures are yearly: the period's year, and the year before as
    `code@prev` (for growth indicators such as village doctors +20 % a year)."""
    first, after, year = period.first, period.after, period.year
    year_end = min(period.last, today) if today else period.last
    consortium = f"""(SELECT m.institution_id, min(c.code) AS consortium_code FROM {schema}.consortium_member m
    JOIN {schema}.consortium c ON c.id = m.consortium_id WHERE c.kind IN ('县域医共体', '城市医疗集团')
    GROUP BY m.institution_id)"""
    if fact == "visits":
        return f"""
SELECT e.kind, CAST(e.out_of_county AS BOOLEAN) AS out_of_county, CAST(i.is_grassroots AS BOOLEAN) AS is_grassroots,
       i.code AS institution_code, substr(i.region_code, 1, 6) AS institution_county,
       substr(r.region_code, 1, 6) AS resident_county, k.consortium_code
FROM {schema}.encounter e
JOIN {schema}.institution i ON i.id = e.institution_id
JOIN {schema}.resident r ON r.id = e.resident_id
LEFT JOIN {consortium} k ON k.institution_id = e.institution_id
WHERE e.start_date >= DATE '{first}' AND e.start_date < DATE '{after}'"""
    if fact == "residents":
        return f"""
SELECT substr(r.region_code, 1, 6) AS resident_county, gi.code AS grid_institution_code,
       gc.code AS grid_consortium_code,
       s.resident_id IS NOT NULL AS signed, c.resident_id IS NOT NULL AS chronic
FROM {schema}.resident r
LEFT JOIN {schema}.grid g ON g.id = r.grid_id
LEFT JOIN {schema}.institution gi ON gi.id = g.institution_id
LEFT JOIN {schema}.consortium gc ON gc.id = g.consortium_id
LEFT JOIN (SELECT DISTINCT resident_id FROM {schema}.contract
           WHERE start_on <= DATE '{year_end}' AND coalesce(ended_on, end_on) >= DATE '{year_end}') s
       ON s.resident_id = r.id
LEFT JOIN (SELECT DISTINCT resident_id FROM {schema}.chronic_register
           WHERE registered_on <= DATE '{year_end}') c ON c.resident_id = r.id
WHERE r.status = 'active'"""
    if fact == "entered":
        return f"""
SELECT CASE WHEN f.year = {int(year)} THEN f.code ELSE f.code || '@prev' END AS code,
       CAST(f.value AS DOUBLE) AS value, i.code AS institution_code,
       substr(i.region_code, 1, 6) AS institution_county, k.consortium_code
FROM {schema}.entered_figure f
JOIN {schema}.institution i ON i.id = f.institution_id
LEFT JOIN {consortium} k ON k.institution_id = f.institution_id
WHERE f.year IN ({int(year)}, {int(year) - 1})"""
    if fact == "members":
        # Members of the county consortia on the period's last day, and whether a shared centre of
        # every kind (影像、心电、超声、病理、检验) serves them (001 §1.3: coverage 100 %).
        return f"""
SELECT i.code AS institution_code, substr(i.region_code, 1, 6) AS institution_county, c.code AS consortium_code,
       (SELECT count(DISTINCT d.kind) FROM {schema}.centre_member cm
        JOIN {schema}.diagnostic_centre d ON d.id = cm.centre_id
        WHERE cm.institution_id = m.institution_id AND d.consortium_id = m.consortium_id
          AND CAST(d.is_active AS BOOLEAN)) = 5 AS served_by_every_centre
FROM {schema}.consortium_member m
JOIN {schema}.consortium c ON c.id = m.consortium_id
JOIN {schema}.institution i ON i.id = m.institution_id
WHERE c.kind IN ('县域医共体', '城市医疗集团')
  AND (m.joined_on IS NULL OR m.joined_on <= DATE '{year_end}')
  AND (m.left_on IS NULL OR m.left_on > DATE '{year_end}')"""
    raise ValueError(fact)


@dataclass(frozen=True)
class Counts:
    code: str
    level: str
    unit: str
    numerator: Decimal
    denominator: Decimal


class DuckEngine:
    """One DuckDB connection in this process with the platform database attached read-only as `p`.
    Not for a process that holds the SQLite database open (a server, a command with a session):
    use `suite_counts`."""

    def __init__(self, database_url: str) -> None:
        attach, self.schema = attachment(database_url)
        self.connection, _ = worker.connect(attach)

    def create_facts(
        self,
        period: Period | int,
        facts: tuple[str, ...] = FACTS,
        today: date | None = None,
    ) -> None:
        """Facts of a period (a plain year means the whole year)."""
        if isinstance(period, int):
            period = parse_period(str(period))
        for fact in facts:
            sql = fact_sql(fact, period, self.schema, today)
            self.connection.execute(f"CREATE OR REPLACE TEMP VIEW {fact} AS {sql}")

    def materialise(self) -> None:
        """Copy the facts into DuckDB's own tables (one read of the platform database each), text
        columns dictionary-encoded as ENUMs: the suite groups and compares on a handful of codes,
        and grouping a million rows by three strings costs four times grouping them by ENUMs."""
        connection = self.connection
        for fact in FACTS:
            connection.execute(f"CREATE OR REPLACE TEMP TABLE {fact}_raw AS SELECT * FROM {fact}")
            columns = connection.execute(f"DESCRIBE {fact}_raw").fetchall()
            selected = []
            for name, kind, *_ in columns:
                present = connection.execute(f"SELECT count({name}) FROM {fact}_raw").fetchone()
                encodable = kind == "VARCHAR" and present is not None and present[0] > 0
                if encodable:
                    enum = f"{fact}_{name}_enum"
                    connection.execute(f"DROP TABLE IF EXISTS {fact}_t")
                    connection.execute(f"DROP TYPE IF EXISTS {enum}")
                    connection.execute(
                        f"CREATE TYPE {enum} AS ENUM (SELECT DISTINCT {name} FROM {fact}_raw WHERE {name} IS NOT NULL)"
                    )
                    selected.append(f"CAST({name} AS {enum}) AS {name}")
                else:
                    selected.append(name)
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {fact}_t AS SELECT {', '.join(selected)} FROM {fact}_raw"
            )
            connection.execute(f"DROP TABLE {fact}_raw")
            connection.execute(f"CREATE OR REPLACE TEMP VIEW {fact} AS SELECT * FROM {fact}_t")

    def export_facts(self, directory: Path) -> dict[str, Path]:
        """Each fact as a Parquet file (for Spark, or a province's data lake)."""
        out = {}
        for fact in FACTS:
            path = directory / f"{fact}.parquet"
            self.connection.execute(f"COPY (SELECT * FROM {fact}) TO '{path}' (FORMAT parquet)")
            out[fact] = path
        return out

    def run(self, queries: list[Query]) -> list[Counts]:
        return [
            counts
            for query in queries
            for counts in rows_to_counts(query, self.connection.execute(query.sql).fetchall())
        ]

    def timed(self, queries: list[Query]) -> tuple[list[Counts], float]:
        started = time.perf_counter()
        return self.run(queries), time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


def suite_counts(
    database_url: str,
    queries: list[Query],
    period: Period | int,
    today: date | None = None,
) -> list[Counts]:
    """The compiled queries over a period's facts, computed by DuckDB in a child process
    (decision 0018); the counts come back as the in-process engine gives them."""
    if not queries:
        return []
    if isinstance(period, int):
        period = parse_period(str(period))
    attach, schema = attachment(database_url)
    facts = dict.fromkeys(q.fact for q in queries)
    job = {
        "attach": attach,
        "views": {fact: fact_sql(fact, period, schema, today) for fact in facts},
        "queries": [q.sql for q in queries],
    }
    rows = _in_child(job)
    return [
        counts for query, found in zip(queries, rows, strict=True) for counts in rows_to_counts(query, found)
    ]


def _in_child(job: dict[str, Any]) -> list[list[list[Any]]]:
    """`python -m yilian.indicators.worker` with the job on stdin (a PostgreSQL password never
    appears in a process listing); the platform's source first on its path, as in this process."""
    source = str(Path(worker.__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "yilian.indicators.worker"],
        input=json.dumps(job).encode(),
        capture_output=True,
        env={**os.environ, "PYTHONPATH": path},
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"indicator worker failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    result: list[list[list[Any]]] = json.loads(done.stdout)
    return result


def rows_to_counts(query: Query, rows: list[Any]) -> list[Counts]:
    """(grouped_by, unit, n1, d1, n2, d2, …) rows → one Counts per indicator, level and unit."""
    out = []
    for row in rows:
        grouped_by, unit = row[0], row[1]
        if unit is None:
            continue
        for index, indicator in enumerate(query.indicators):
            for level, column in indicator.levels.items():
                if column == grouped_by:
                    out.append(
                        Counts(
                            indicator.code,
                            level,
                            str(unit),
                            _number(row[2 + 2 * index]),
                            _number(row[3 + 2 * index]),
                        )
                    )
    return out


def _number(value: Any) -> Decimal:
    """Counts stay whole; sums of entered yuan keep their fen (DuckDB and Spark both give floats)."""
    number = Decimal(str(round(float(value or 0), 2)))
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number
