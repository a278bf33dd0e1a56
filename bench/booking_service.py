"""CPU per booking without sockets: the service called in a loop, or the whole ASGI app, one thread.

    .venv/bin/python bench/booking_service.py --url postgresql+psycopg://…/county [--bookings 2000]
    .venv/bin/python bench/booking_service.py --url … --through app

Needs a database that already holds the synthetic county (e.g. one `bench/booking_http.py --url …`
built, or `yilian synth`). Books random public slots of the county hospital for random residents
as its administrator yy1, one after another, committing each booking, with the audit writer running
as in a server. Prints wall time and process CPU per booking:
- `--through service` (default): `scheduling.booking.do_book_slot`, the service, the driver and the
  audit writer;
- `--through app`: `POST /api/bookings` handed to the ASGI app as uvicorn hands it (bearer token,
  JSON body, Idempotency-Key): adds the web framework, its middleware and the thread hop, but not
  HTTP parsing or sockets.
Set beside `bench/booking_http.py`'s figure, the difference is what each layer costs. The bookings
stay in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shlex
import sys
import time
from typing import Any

from booking_http import PASSWORD, bookable  # bench/: the script's own directory is on sys.path

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")


def county(url: str) -> tuple[list[int], list[int]]:
    from sqlalchemy import select

    from yilian.kit.db import Database
    from yilian.models import Institution

    database = Database(url)
    with database.session_factory() as session:
        hospital = session.scalar(select(Institution.id).where(Institution.code.like("%H01")))
        if hospital is None:
            sys.exit("the database holds no synthetic county (no county hospital …H01)")
        slots, patients = bookable(session, hospital)
    database.engine.dispose()
    if not slots or not patients:
        sys.exit("the database holds no synthetic county (the hospital's slots and patients)")
    return slots, patients


Booking = tuple[int, int, str]  # slot, resident, idempotency key


class Tally:
    """Bookings made and refused, and the CPU and wall time they took."""

    def __init__(self) -> None:
        self.booked = self.refused = 0
        self.cpu = self.wall = 0.0

    def __enter__(self) -> Tally:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


def through_service(url: str, warm: list[Booking], counted: list[Booking]) -> Tally:
    from yilian.auth import repository
    from yilian.auth.context import Actor
    from yilian.auth.service import subject_of
    from yilian.kit.audit import DEMO_CHAIN_KEY, AuditWriter
    from yilian.kit.clock import SystemClock
    from yilian.kit.db import Database
    from yilian.kit.errors import AppError
    from yilian.scheduling.booking import do_book_slot
    from yilian.scheduling.schemas import BookingIn

    database = Database(url)
    writer = AuditWriter(database.engine, key=DEMO_CHAIN_KEY)
    writer.start()
    with database.session_factory() as session:
        user = repository.user_by_username(session, "yy1")
        if user is None:
            sys.exit("the database holds no synthetic county (no user yy1)")
        subject = subject_of(session, user)
    actor = Actor(subject=subject, endpoint="POST /api/bookings", audit=writer, clock=SystemClock())

    def book(bookings: list[Booking], tally: Tally) -> None:
        for slot_id, resident_id, key in bookings:
            session = database.session_factory()
            try:
                do_book_slot(
                    session,
                    actor=actor,
                    data=BookingIn(slot_id=slot_id, resident_id=resident_id),
                    idempotency_key=key,
                )
                session.commit()
                tally.booked += 1
            except AppError:
                session.rollback()
                tally.refused += 1
            finally:
                session.close()

    book(warm, Tally())
    with Tally() as tally:
        book(counted, tally)
    writer.stop()
    return tally


async def asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request as uvicorn hands it to the app."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
        + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def through_app(url: str, warm: list[Booking], counted: list[Booking]) -> Tally:
    from yilian.app import create_app
    from yilian.config import Settings

    app = create_app(Settings(database_url=url, secret_key=secrets.token_hex(32)))

    async def run() -> Tally:
        async with app.router.lifespan_context(app):
            status, body = await asgi_post(
                app, "/api/auth/token", json.dumps({"username": "yy1", "password": PASSWORD}).encode(), {}
            )
            if status != 200:
                sys.exit(f"no token for yy1 (password {PASSWORD}): {status} {body[:200]!r}")
            bearer = "Bearer " + json.loads(body)["access_token"]

            async def book(bookings: list[Booking], tally: Tally) -> None:
                for slot_id, resident_id, key in bookings:
                    status, body = await asgi_post(
                        app,
                        "/api/bookings",
                        b'{"slot_id":%d,"resident_id":%d}' % (slot_id, resident_id),
                        {"authorization": bearer, "idempotency-key": key},
                    )
                    if status == 201:
                        tally.booked += 1
                    elif status in (409, 422):
                        tally.refused += 1
                    else:
                        sys.exit(f"POST /api/bookings answered {status}: {body[:300]!r}")

            await book(warm, Tally())
            with Tally() as tally:
                await book(counted, tally)
            return tally

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--through", choices=("service", "app"), default="service")
    args = parser.parse_args()

    slots, patients = county(args.url)
    run = time.time_ns()
    rng = random.Random(run)  # a new draw each run: earlier runs' bookings stay in the database
    bookings = [
        (rng.choice(slots), rng.choice(patients), f"bench-{args.through}-{run}-{n}")
        for n in range(args.bookings)
    ]
    # The first 200 warm up (statements prepared, plans settled) and are not counted.
    book = through_service if args.through == "service" else through_app
    tally = book(args.url, bookings[:200], bookings[200:])
    per = 1000 / max(1, tally.booked + tally.refused)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"through={args.through} booked={tally.booked} refused={tally.refused} "
        f"wall_ms_per_booking={tally.wall * per:.3f} cpu_ms_per_booking={tally.cpu * per:.3f}"
    )


if __name__ == "__main__":
    main()
