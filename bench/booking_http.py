"""Booking throughput and latency over HTTP, next to pgbench on the same PostgreSQL.

    .venv/bin/python bench/booking_http.py --residents 300000 --clients 64 --seconds 20

Starts a throwaway PostgreSQL (scripts/with-postgres), builds the synthetic county into it, serves
the platform with `yilian serve` on 127.0.0.1, and lets N concurrent HTTP clients book random public
slots of the county hospital for random residents (each request with its own Idempotency-Key), as
institution administrator yy1. Bench-only preparation: the hospital's slots get capacity 1,000 so the
pool does not run dry. Afterwards it checks that no slot holds more bookings than its capacity and
that every slot's counter equals its live bookings, then runs pgbench with the same number of clients
doing single-row UPDATEs, and prints both. Target (issue 4): ≥ 1,000 bookings/s, p99 < 50 ms at 64
clients, zero double bookings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-Pass-2026"
SAMPLES: dict[int, str] = {}  # the first response body of each error status, printed at the end


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, residents: int) -> tuple[list[int], list[int]]:
    from rich.console import Console
    from sqlalchemy import select, text, update
    from sqlalchemy.orm import Session

    from yilian.kit.db import make_engine
    from yilian.kit.migrate import upgrade
    from yilian.models import Encounter, Institution, Slot
    from yilian.synth.build import build_synthetic_region

    upgrade(url)
    started = time.perf_counter()
    build_synthetic_region(
        url, residents_per_county=residents, demo_password=PASSWORD, console=Console(stderr=True)
    )
    print(f"synth_seconds={time.perf_counter() - started:.1f}", flush=True)
    engine = make_engine(url)
    with Session(engine) as session:
        hospital = session.scalar(select(Institution.id).where(Institution.code.like("%H01")))
        session.execute(
            update(Slot).where(Slot.institution_id == hospital).values(capacity=1000, pool="public")
        )
        session.commit()
        # Public bookers may book 7 days ahead: keep to slots inside that window.
        window = datetime.now() + timedelta(days=7)
        slots = list(
            session.scalars(select(Slot.id).where(Slot.institution_id == hospital, Slot.starts_at < window))
        )
        patients = list(
            session.scalars(
                select(Encounter.resident_id)
                .where(Encounter.institution_id == hospital)
                .distinct()
                .limit(50_000)
            )
        )
        session.execute(text("ANALYZE"))
        session.commit()
    engine.dispose()
    return slots, patients


async def load(
    base: str, token: str, slots: list[int], patients: list[int], clients: int, seconds: float, run: str
) -> tuple[list[float], dict[int, int]]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(f"{run}-{n}")  # warm-up and measured run draw different pairs
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            body = {"slot_id": rng.choice(slots), "resident_id": rng.choice(patients)}
            began = time.perf_counter()
            try:
                response = await client.post(
                    f"{base}/api/bookings", json=body, headers={**headers, "Idempotency-Key": f"{run}{n}-{i}"}
                )
                code = response.status_code
                if code >= 400 and code not in SAMPLES:
                    SAMPLES[code] = response.text[:300]
            except httpx.HTTPError as error:
                code = 0
                SAMPLES.setdefault(0, repr(error)[:300])
            latencies.append(time.perf_counter() - began)
            statuses[code] = statuses.get(code, 0) + 1

    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(*(worker(n, client) for n in range(clients)))
    return latencies, statuses


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def run(url: str, args: argparse.Namespace) -> None:
    import httpx

    slots, patients = prepare(url, args.residents)
    port = free_port()
    env = {**os.environ, "YILIAN_DATABASE_URL": url}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/yilian"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(f"{base}/api/auth/token", json={"username": "yy1", "password": PASSWORD}).json()[
            "access_token"
        ]
        asyncio.run(load(base, token, slots, patients, args.clients, 3, "warm"))
        started = time.perf_counter()
        latencies, statuses = asyncio.run(
            load(base, token, slots, patients, args.clients, args.seconds, "run")
        )
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    from sqlalchemy import text

    from yilian.kit.db import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        over = connection.scalar(text("SELECT count(*) FROM slot WHERE booked > capacity"))
        drift = connection.scalar(
            text(
                "SELECT count(*) FROM slot s WHERE s.booked <> (SELECT count(*) FROM booking b WHERE b.slot_id = s.id "
                "AND b.status IN ('booked', 'checked_in'))"
            )
        )
    engine.dispose()
    booked = statuses.get(201, 0)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"clients={args.clients} seconds={elapsed:.1f} requests={len(latencies)} statuses={dict(sorted(statuses.items()))}"
    )
    print(
        f"bookings_per_second={booked / elapsed:,.0f} requests_per_second={len(latencies) / elapsed:,.0f} "
        f"p50_ms={percentile(latencies, 0.5) * 1000:.1f} p99_ms={percentile(latencies, 0.99) * 1000:.1f} "
        f"max_ms={max(latencies) * 1000:.1f}"
    )
    print(f"over_capacity_slots={over} counter_drift_slots={drift}")
    for code, body in sorted(SAMPLES.items()):
        print(f"sample {code}: {body}")
    pgbench(url, args.clients)


def pgbench(url: str, clients: int) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    binary = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))[-1]
    script = Path(tempfile.mkdtemp()) / "update.sql"
    script.write_text(
        "\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"
    )
    common = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port), "-U", parsed.username or "yilian"]
    subprocess.run(
        [str(binary), "-i", "-s", "1", "-q", *common, parsed.database or ""],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = subprocess.run(
        [
            str(binary),
            "-n",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            "10",
            "-f",
            str(script),
            *common,
            parsed.database or "",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tps = next((line for line in out.splitlines() if line.startswith("tps")), "tps = ?")
    print(f"pgbench single-row UPDATE, {clients} clients: {tps}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1, help="yilian serve processes")
    parser.add_argument(
        "--url", default="", help="an empty PostgreSQL database (default: a throwaway cluster)"
    )
    args = parser.parse_args()
    if args.url:
        run(args.url, args)
        return
    # Re-run this script inside a throwaway cluster.
    command = [
        str(ROOT / "scripts/with-postgres"),
        sys.executable,
        __file__,
        "--residents",
        str(args.residents),
        "--clients",
        str(args.clients),
        "--seconds",
        str(args.seconds),
        "--workers",
        str(args.workers),
        "--url",
        "FROM_ENV",
    ]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    if "--url" in sys.argv and sys.argv[sys.argv.index("--url") + 1] == "FROM_ENV":
        sys.argv[sys.argv.index("--url") + 1] = os.environ["YILIAN_TEST_DATABASE_URL"]
    main()
