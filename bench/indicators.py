"""Every indicator of the catalogue for a county-year, on DuckDB over the platform's database.

    .venv/bin/python bench/synth_county.py --residents 300000      # once: builds var/bench/synth-300000.db
    .venv/bin/python bench/indicators.py --residents 300000 [--year 2025]

Cold: a new DuckDB connection attaches the SQLite file and runs the compiled suite over the year's
facts as views (every query reads the platform's tables). Served: the same cold suite as the server
runs it, in a child process (`suite_counts`, decision 0018), start-up included. Warm: the facts are already materialised in
DuckDB and the suite runs again. Beside each, the floor: one hand-written DuckDB query that scans the
year's encounters once and groups them by institution. Target (issue 7): the suite within 3x the
floor and under 2 s warm for the county.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from yilian.config import PROJECT_ROOT
from yilian.indicators.catalogue import compile_queries
from yilian.indicators.engine import DuckEngine, suite_counts
from yilian.indicators.service import catalogue
from yilian.kit.migrate import upgrade

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")

FLOOR = """SELECT institution_id, count(*), sum(CASE WHEN out_of_county THEN 1 ELSE 0 END)
FROM {source} WHERE start_date >= DATE '{year}-01-01' AND start_date < DATE '{next}-01-01'
GROUP BY institution_id"""


def seconds(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{PROJECT_ROOT / 'var' / 'bench' / f'synth-{args.residents}.db'}"
    upgrade(url)  # a bench database built before the newest tables (shared centres) gets them, empty
    queries = compile_queries(catalogue())

    engine = DuckEngine(url)
    engine.create_facts(args.year)
    encounters = engine.connection.execute(
        f"SELECT count(*) FROM {engine.schema}.encounter WHERE start_date >= DATE '{args.year}-01-01' "
        f"AND start_date < DATE '{args.year + 1}-01-01'"
    ).fetchone()[0]  # type: ignore[index]
    floor_sql = FLOOR.format(source=f"{engine.schema}.encounter", year=args.year, next=args.year + 1)
    cold_floor = seconds(lambda: engine.connection.execute(floor_sql).fetchall())
    cold_suite = seconds(lambda: engine.run(queries))
    engine.close()

    engine = DuckEngine(url)
    engine.create_facts(args.year)
    load = seconds(engine.materialise)
    engine.connection.execute(
        f"CREATE TEMP TABLE enc AS SELECT institution_id, out_of_county, start_date FROM {engine.schema}.encounter"
    )
    warm_floor = min(
        seconds(
            lambda: engine.connection.execute(
                FLOOR.format(source="enc", year=args.year, next=args.year + 1)
            ).fetchall()
        )
        for _ in range(3)
    )
    warm_suite = min(seconds(lambda: engine.run(queries)) for _ in range(3))
    values = len(engine.run(queries))
    engine.close()

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"{encounters:,} encounters in {args.year}; {len(catalogue())} indicators, {len(queries)} compiled queries, {values} values"
    )
    print(
        f"cold (over the platform's SQLite): suite {cold_suite:.3f} s, floor {cold_floor:.3f} s, ratio {cold_suite / cold_floor:.1f}x"
    )
    served = min(seconds(lambda: suite_counts(url, queries, args.year)) for _ in range(3))
    print(f"served (cold, in the worker process, start-up included): suite {served:.3f} s")
    print(f"facts materialised in DuckDB: {load:.3f} s")
    print(
        f"warm (facts in DuckDB): suite {warm_suite:.3f} s, floor {warm_floor:.3f} s, ratio {warm_suite / warm_floor:.1f}x"
    )


if __name__ == "__main__":
    main()
