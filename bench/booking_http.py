"""Booking throughput and latency over HTTP, next to pgbench on the same PostgreSQL.

    .venv/bin/python bench/booking_http.py --residents 300000 --clients 64 --seconds 20

Starts a throwaway PostgreSQL (scripts/with-postgres), builds the synthetic county into it, serves
the platform with `yilian serve --workers 2` on 127.0.0.1, and lets N concurrent HTTP clients (wrk, a C load
generator from Debian, so the generator does not eat the server's CPU) book random public
slots of the county hospital for random residents (each request with its own Idempotency-Key), as
institution administrator yy1. Bench-only preparation: the hospital's slots get capacity 1,000 so the
pool does not run dry. Afterwards it checks that no slot holds more bookings than its capacity and
that every slot's counter equals its live bookings, then runs pgbench with the same number of clients
doing single-row UPDATEs, and prints both. Target (issue 4): ≥ 1,000 bookings/s, p99 < 50 ms at 64
clients, zero double bookings.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from serving import run_wrk, serving  # bench/serving.py: the script's own directory is on sys.path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-Pass-2026"


def prepare(url: str, residents: int, build: bool) -> tuple[list[int], list[int]]:
    from rich.console import Console
    from sqlalchemy import delete, select, text, update
    from sqlalchemy.orm import Session

    from yilian.kit.db import make_engine
    from yilian.kit.migrate import upgrade
    from yilian.models import Booking, BookingEvent, Institution, Slot
    from yilian.synth.build import build_synthetic_region

    upgrade(url)
    if build:
        started = time.perf_counter()
        build_synthetic_region(
            url, residents_per_county=residents, demo_password=PASSWORD, console=Console(stderr=True)
        )
        print(f"synth_seconds={time.perf_counter() - started:.1f}", flush=True)
    engine = make_engine(url)
    with Session(engine) as session:
        hospital = session.scalar(select(Institution.id).where(Institution.code.like("%H01")))
        if not build:  # a county benched before: its earlier runs' bookings at the hospital go
            on_hospital_slots = select(Slot.id).where(Slot.institution_id == hospital)
            booked = select(Booking.id).where(Booking.slot_id.in_(on_hospital_slots))
            session.execute(delete(BookingEvent).where(BookingEvent.booking_id.in_(booked)))
            session.execute(delete(Booking).where(Booking.slot_id.in_(on_hospital_slots)))
            session.execute(update(Slot).where(Slot.institution_id == hospital).values(booked=0))
        session.execute(
            update(Slot).where(Slot.institution_id == hospital).values(capacity=1000, pool="public")
        )
        session.commit()
        slots, patients = bookable(session, hospital)
        session.execute(text("ANALYZE"))
        session.commit()
    engine.dispose()
    return slots, patients


def bookable(session: Any, hospital: int) -> tuple[list[int], list[int]]:
    """The hospital's slots a public booker may book (7 days ahead) and up to 20,000 of its patients
    (a Lua table literal in the wrk script)."""
    from sqlalchemy import select

    from yilian.models import Encounter, Slot

    window = datetime.now() + timedelta(days=7)
    slots = list(
        session.scalars(select(Slot.id).where(Slot.institution_id == hospital, Slot.starts_at < window))
    )
    patients = list(
        session.scalars(
            select(Encounter.resident_id).where(Encounter.institution_id == hospital).distinct().limit(20_000)
        )
    )
    return slots, patients


WRK_SCRIPT = """
local slots = {%(slots)s}
local patients = {%(patients)s}
local token = "%(token)s"
local run = "%(run)s"
local threads = {}
counter = 0
created, refused, failed = 0, 0, 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919 + (run == "warm" and 1 or 2))
end

function request()
  counter = counter + 1
  local body = '{"slot_id":' .. slots[math.random(#slots)] .. ',"resident_id":' .. patients[math.random(#patients)] .. '}'
  return wrk.format("POST", "/api/bookings", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token, ["Idempotency-Key"] = run .. id .. "-" .. counter}, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 409 or status == 422 then refused = refused + 1
  else failed = failed + 1 end
end

function done(summary, latency, requests)
  local c, r, f = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created"); r = r + thread:get("refused"); f = f + thread:get("failed")
  end
  io.write(string.format("RESULT created=%%d refused=%%d failed=%%d errors=%%d requests=%%d seconds=%%.2f p50_us=%%d p99_us=%%d max_us=%%d\\n",
    c, r, f, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def load(
    base: str, token: str, slots: list[int], patients: list[int], clients: int, seconds: float, run: str
) -> dict[str, float]:
    lua = WRK_SCRIPT % {
        "slots": ",".join(map(str, slots)),
        "patients": ",".join(map(str, patients)),
        "token": token,
        "run": run,
    }
    return run_wrk(lua, base, clients, seconds)


def run(url: str, args: argparse.Namespace) -> None:
    import httpx

    slots, patients = prepare(url, args.residents, not args.built)
    with serving({"YILIAN_DATABASE_URL": url}, args.workers) as base:
        token = httpx.post(f"{base}/api/auth/token", json={"username": "yy1", "password": PASSWORD}).json()[
            "access_token"
        ]
        load(base, token, slots, patients, args.clients, 12, "warm")
        result = load(base, token, slots, patients, args.clients, args.seconds, "run")
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
    seconds = result["seconds"]
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"clients={args.clients} workers={args.workers} seconds={seconds:.1f} requests={result['requests']:.0f} "
        f"created={result['created']:.0f} refused(409/422: duplicate resident-session)={result['refused']:.0f} "
        f"failed={result['failed']:.0f} socket_errors={result['errors']:.0f}"
    )
    print(
        f"bookings_per_second={result['created'] / seconds:,.0f} "
        f"requests_per_second={result['requests'] / seconds:,.0f} "
        f"p50_ms={result['p50_us'] / 1000:.1f} p99_ms={result['p99_us'] / 1000:.1f} "
        f"max_ms={result['max_us'] / 1000:.1f}"
    )
    print(f"over_capacity_slots={over} counter_drift_slots={drift}")
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
    parser.add_argument("--workers", type=int, default=2, help="yilian serve processes (one per core)")
    parser.add_argument(
        "--url", default="", help="an empty PostgreSQL database (default: a throwaway cluster)"
    )
    parser.add_argument(
        "--built",
        action="store_true",
        help="--url already holds the county (built with password Bench-Pass-2026): do not build it",
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
