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

Two runs are printed. In the first, each client books again as soon as it is answered: the
throughput is the most the machine does, and by Little's law the mean latency is then
clients ÷ throughput (64 clients at 1,000/s: 64 ms), so p99 < 50 ms at 64 such clients needs well
over 1,280 bookings/s. In the second (`--rate`, default 1,000), the same 64 clients together offer
that many bookings a second, evenly spaced: the latency a booker sees when the county books at the
target rate. wrk times each request from when it is sent, so a request held back because every
client was still waiting is not counted as late (the achieved rate shows whether that happened).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/serving.py: the script's own directory is on sys.path
from serving import Server, cpu_per_request, run_wrk, serving

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-Pass-2026"


def prepare(url: str, residents: int, build: bool) -> tuple[list[int], list[int]]:
    from rich.console import Console
    from sqlalchemy import delete, select, text, update
    from sqlalchemy.exc import ProgrammingError
    from sqlalchemy.orm import Session

    from yilian.config import Settings
    from yilian.kit.db import make_engine
    from yilian.kit.migrate import upgrade
    from yilian.models import Booking, BookingEvent, Institution, Slot
    from yilian.synth.build import build_synthetic_region

    upgrade(url)
    if build:
        started = time.perf_counter()
        build_synthetic_region(
            url, today=date.today(), residents_per_county=residents, demo_password=PASSWORD,
            console=Console(stderr=True), settings=Settings(),
        )
        print(f"synth_seconds={time.perf_counter() - started:.1f}", flush=True)
    engine = make_engine(url)
    with Session(engine) as session:
        hospital = session.scalar(select(Institution.id).where(Institution.code.like("%H01")))
        if hospital is None:
            sys.exit("the database holds no synthetic county (no county hospital …H01)")
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
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # A county just loaded in bulk would otherwise be vacuumed by autovacuum during the run
        # (PostgreSQL vacuums after many inserts), and its dirty pages written out: a county in
        # service is not three minutes past a bulk load.
        started = time.perf_counter()
        connection.execute(text("VACUUM (ANALYZE)"))
        try:
            connection.execute(text("CHECKPOINT"))
        except ProgrammingError:
            print("checkpoint skipped: the --url user is not a superuser", flush=True)
        print(f"vacuum_analyze_checkpoint_seconds={time.perf_counter() - started:.1f}", flush=True)
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
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } timespec;
int clock_gettime(int clock, timespec *now);
]]
local clock = ffi.new("timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval = %(interval_ms)s  -- between this thread's bookings; 0: each client books again at once
local next_at = nil
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
  local seed = id * 7919  -- each run its own draw of slots and residents
  for i = 1, #run do seed = (seed * 31 + run:byte(i)) %% 2147483647 end
  math.randomseed(seed)
end

function delay()
  if interval == 0 then return 0 end
  local now = now_ms()
  -- A schedule that fell behind catches up (up to one second back): the offered rate holds.
  next_at = math.max(next_at or now, now - 1000) + interval
  return math.max(0, next_at - now)
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
    server: Server,
    token: str,
    slots: list[int],
    patients: list[int],
    clients: int,
    seconds: float,
    run: str,
    rate: float = 0,
) -> dict[str, float]:
    """`rate` > 0: the clients together offer that many bookings a second (each of wrk's 2 threads
    spaces its requests evenly), instead of each booking again as soon as it is answered."""
    lua = WRK_SCRIPT % {
        "slots": ",".join(map(str, slots)),
        "patients": ",".join(map(str, patients)),
        "token": token,
        "run": run,
        "interval_ms": f"{2 * 1000 / rate:.4f}" if rate > 0 else "0",
    }
    return run_wrk(lua, server, clients, seconds)


def run(url: str, args: argparse.Namespace) -> None:
    import httpx

    slots, patients = prepare(url, args.residents, not args.built)
    with serving({"YILIAN_DATABASE_URL": url}, args.workers) as server:
        token = httpx.post(
            f"{server.base}/api/auth/token", json={"username": "yy1", "password": PASSWORD}
        ).json()["access_token"]
        load(server, token, slots, patients, args.clients, 12, "warm")
        result = load(server, token, slots, patients, args.clients, args.seconds, "run")
        paced = (
            load(server, token, slots, patients, args.clients, args.seconds, "paced", args.rate)
            if args.rate > 0
            else None
        )
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
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    report("as fast as they are answered", result, args)
    if paced is not None:
        report(f"paced: {args.rate:,.0f} bookings/s offered", paced, args)
    print(f"over_capacity_slots={over} counter_drift_slots={drift}")
    tps = pgbench(url, args.clients)
    if tps:
        # The figure: bookings against the same PostgreSQL's simplest write, same clients.
        booked = result["created"] / result["seconds"]
        print(f"bookings_per_second / pgbench_tps = {booked:,.0f} / {tps:,.0f} = {booked / tps:.1%}")


def report(how: str, result: dict[str, float], args: argparse.Namespace) -> None:
    seconds = result["seconds"]
    print(
        f"[{how}] clients={args.clients} workers={args.workers} seconds={seconds:.1f} "
        f"requests={result['requests']:.0f} created={result['created']:.0f} "
        f"refused(409/422: duplicate resident-session)={result['refused']:.0f} "
        f"failed={result['failed']:.0f} socket_errors={result['errors']:.0f}"
    )
    print(
        f"[{how}] bookings_per_second={result['created'] / seconds:,.0f} "
        f"requests_per_second={result['requests'] / seconds:,.0f} "
        f"p50_ms={result['p50_us'] / 1000:.1f} p99_ms={result['p99_us'] / 1000:.1f} "
        f"max_ms={result['max_us'] / 1000:.1f}"
    )
    print(f"[{how}] {cpu_per_request(result)}")


def pgbench(url: str, clients: int) -> float | None:
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
    figure = tps.split("=")[1].split()[0]
    return float(figure) if figure != "?" else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2, help="yilian serve processes (one per core)")
    parser.add_argument(
        "--rate",
        type=float,
        default=1000,
        help="then a second run in which the clients offer this many bookings/s (0: skip it)",
    )
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
        "--rate",
        str(args.rate),
        "--url",
        "FROM_ENV",
    ]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    if "--url" in sys.argv and sys.argv[sys.argv.index("--url") + 1] == "FROM_ENV":
        sys.argv[sys.argv.index("--url") + 1] = os.environ["YILIAN_TEST_DATABASE_URL"]
    main()
