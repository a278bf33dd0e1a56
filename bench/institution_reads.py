"""How long an institution's staff wait for the lists and figures of their residents, at county scale.

    .venv/bin/python bench/institution_reads.py --url postgresql+psycopg://…/county [--repeat 5]

Needs a database that already holds the synthetic county (e.g. one `bench/booking_http.py --url …`
built, password Bench-Pass-2026). Serves it with `yilian serve --workers 1` on 127.0.0.1 and, one
request at a time (no load: the figure is what one user waits), opens each page's API as the county
hospital's administrator yy1, whose residents are those the privacy scope grants an institution (its
grids, everyone seen, referred, booked, examined or consulted there: `auth.scoping`), and as the
county's `admin` (a region range, the cheap scope) for comparison. Prints the median and the slowest
of `--repeat` warm requests per endpoint. Vacuums and analyzes the database first, as autovacuum
keeps a county in service (a table just loaded has no visibility map, and its index-only scans
read the heap).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time

import httpx

# bench/: the script's own directory is on sys.path
from booking_http import PASSWORD
from serving import serving

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")

ENDPOINTS = (
    "/api/residents",
    "/api/residents?q=张",
    "/api/chronic/figures",
    "/api/chronic/worklist/red",
    "/api/chronic/worklist/unsigned",
    "/fhir/Patient?_count=20",
    "/fhir/Encounter?_count=20",
)


def timed(client: httpx.Client, path: str, repeat: int) -> tuple[int, float, float]:
    client.get(path)  # warm: plans and pages cached as in a server that has been up a while
    times = []
    status = 0
    for _ in range(repeat):
        started = time.perf_counter()
        status = client.get(path).status_code
        times.append(time.perf_counter() - started)
    return status, statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--users", default="yy1,admin")
    args = parser.parse_args()

    from sqlalchemy import text

    from yilian.kit.db import make_engine

    engine = make_engine(args.url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()
    with serving({"YILIAN_DATABASE_URL": args.url}, 1) as server:
        print(f"command: {shlex.join([sys.executable, *sys.argv])}")
        for user in args.users.split(","):
            answer = httpx.post(
                f"{server.base}/api/auth/token", json={"username": user, "password": PASSWORD}
            )
            if answer.status_code != 200:
                sys.exit(f"no token for {user} (password {PASSWORD}): {answer.status_code}")
            headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
                for path in ENDPOINTS:
                    status, median, slowest = timed(client, path, args.repeat)
                    print(
                        f"user={user} status={status} median_ms={median * 1000:,.0f} "
                        f"max_ms={slowest * 1000:,.0f} {path}"
                    )


if __name__ == "__main__":
    main()
