"""Build a synthetic county into a fresh database and print rows per second and peak memory.

    .venv/bin/python bench/synth_county.py --residents 300000            # SQLite file under var/bench/
    .venv/bin/python bench/synth_county.py --residents 300000 --url postgresql+psycopg://…/empty_db

Target (issue 2): the 300,000-resident county (~3 million encounters) in under 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import sys
import time
from datetime import date
from pathlib import Path

from rich.console import Console

from yilian.config import PROJECT_ROOT, Settings
from yilian.kit.migrate import upgrade
from yilian.synth.build import build_synthetic_region

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--counties", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--url", default="", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.url
    if not url:
        path = PROJECT_ROOT / "var" / "bench" / f"synth-{args.residents}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    started = time.perf_counter()
    upgrade(url)
    report = build_synthetic_region(
        url,
        today=date.today(),
        residents_per_county=args.residents,
        counties=args.counties,
        seed=args.seed,
        demo_password="Bench-Pass-2026",
        console=Console(stderr=True),
        settings=Settings(),
    )
    wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"database: {url.split('@')[-1]}")
    print(
        f"residents={report.residents:,} encounters={report.encounters:,} diagnoses={report.diagnoses:,} "
        f"staff={report.staff:,} institutions={report.institutions:,}"
    )
    print(f"rows={report.rows:,} build_seconds={report.seconds:.1f} wall_seconds_with_migrations={wall:.1f}")
    print(f"rows_per_second={report.rows / report.seconds:,.0f} peak_rss_mib={peak_mib:,.0f}")


if __name__ == "__main__":
    main()
