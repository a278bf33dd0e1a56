"""Issue 20 (critical): computing indicators inside a served process must not cost it its hold on the
embedded database. DuckDB's SQLite scanner carries its own copy of SQLite; when it opened the live
file inside the server and closed it, POSIX released every lock the server process held on that
file, the next outside process to open and close the database deleted the live WAL, and bookings
answered 201 were gone once the server stopped.

The test runs the platform as a deployment does (`yilian serve` in its own process, its own clock
and sessions), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

import yilian
from tests.factories.auth import bearer
from tests.factories.encounters import create_encounter
from tests.factories.live import free_port
from tests.factories.residents import create_resident
from tests.factories.scheduling import ct_slot
from tests.factories.world import build_world
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import Booking, Slot

SOURCE = Path(yilian.__file__).resolve().parents[1]


def _environment(url: str) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(SOURCE), path) if p),
        "YILIAN_DATABASE_URL": url,
        "YILIAN_SECRET_KEY": "served-test-secret-key-not-the-default",
    }


@contextmanager
def served(url: str) -> Iterator[str]:
    """`yilian serve` in its own process until the block ends; stopped as an operator stops it
    (SIGTERM, uvicorn's graceful shutdown)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "yilian.cli", "serve", "--port", str(port), "--no-access-log"],
        env=_environment(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                urllib.request.urlopen(f"{base}/login", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start: {server.stderr.read()!r}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        if server.stderr is not None:
            server.stderr.close()


def call(
    method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={**headers, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def open_and_close_from_outside(url: str) -> None:
    """What any other process does (a `yilian` command, a backup, sqlite3): open, read, close."""
    script = (
        "import sys\nfrom sqlalchemy import create_engine, text\n"
        "engine = create_engine(sys.argv[1])\n"
        "with engine.connect() as c:\n    c.execute(text('SELECT count(*) FROM booking')).scalar()\n"
        "engine.dispose()\n"
    )
    subprocess.run([sys.executable, "-c", script, url], env=_environment(url), check=True, timeout=120)


def test_every_booking_answered_201_is_kept_after_indicators_were_computed(fresh_database_url: str) -> None:
    url = fresh_database_url
    upgrade(url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    day = date.today() + timedelta(days=2)  # the served app runs on the real clock
    with factory() as setup:
        world = build_world(setup)
        residents = [create_resident(setup, grid=world.grid_a) for _ in range(2)]
        create_encounter(
            setup, resident=world.resident_a, institution=world.township_a, on=date(day.year, 1, 2)
        )
        slot = ct_slot(
            setup, world.hospital.id, capacity=5, booked=0, starts_at=datetime(day.year, day.month, day.day, 9)
        )
        doctor = bearer(setup, world.family_doctor_a)
        commission = bearer(setup, world.commission)
        setup.commit()
    engine.dispose()  # nothing of the test process holds the database while the server runs

    booked: list[int] = []
    with served(url) as base:
        status, values = call("GET", f"{base}/api/indicators?year={day.year}", commission)
        assert status == 200 and any(v["code"] == "grassroots_visit_share" for v in values), values
        open_and_close_from_outside(url)
        for number, resident in enumerate(residents):
            status, body = call(
                "POST",
                f"{base}/api/bookings",
                {**doctor, "Idempotency-Key": f"kept-{number}"},
                {"slot_id": slot.id, "resident_id": resident.id},
            )
            assert status == 201, body
            booked.append(body["id"])
        open_and_close_from_outside(url)
    assert len(booked) == 2

    engine = make_engine(url)
    try:
        with sessionmaker(engine)() as check:
            kept = set(check.scalars(select(Booking.id)))
            taken = check.scalar(select(Slot.booked).where(Slot.id == slot.id))
    finally:
        engine.dispose()
    assert set(booked) <= kept, f"answered 201 but lost: {sorted(set(booked) - kept)}"
    assert taken == 2
