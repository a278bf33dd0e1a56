"""CPU per booking without HTTP: `scheduling.service.do_book_slot` called in a loop, one thread.

    .venv/bin/python bench/booking_service.py --url postgresql+psycopg://…/county [--bookings 2000]

Needs a database that already holds the synthetic county (e.g. one `bench/booking_http.py --url …`
built, or `yilian synth`). Books random public slots of the county hospital for random residents
as its administrator yy1, committing each booking, with the audit writer running as in a server.
Prints wall time and process CPU per booking: the part of a booking's cost that is the service and
the database driver, to set beside `bench/booking_http.py`'s figure (the rest is HTTP and the web
framework). The bookings stay in the database.
"""

from __future__ import annotations

import argparse
import random
import shlex
import sys
import time

from booking_http import bookable  # bench/: the script's own directory is on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--bookings", type=int, default=2000)
    args = parser.parse_args()

    from sqlalchemy import select

    from yilian.auth import repository
    from yilian.auth.context import Actor
    from yilian.auth.service import subject_of
    from yilian.kit.audit import AuditWriter
    from yilian.kit.clock import SystemClock
    from yilian.kit.db import Database
    from yilian.kit.errors import AppError
    from yilian.models import Institution
    from yilian.scheduling.schemas import BookingIn
    from yilian.scheduling.service import do_book_slot

    database = Database(args.url)
    writer = AuditWriter(database.engine)
    writer.start()
    with database.session_factory() as session:
        hospital = session.scalar(select(Institution.id).where(Institution.code.like("%H01")))
        slots, patients = bookable(session, hospital)
        user = repository.user_by_username(session, "yy1")
        if user is None or not slots or not patients:
            sys.exit("the database holds no synthetic county (yy1, the hospital's slots and patients)")
        subject = subject_of(session, user)
    actor = Actor(subject=subject, endpoint="POST /api/bookings", audit=writer, clock=SystemClock())
    rng = random.Random(20261125)
    booked = refused = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for number in range(args.bookings):
        session = database.session_factory()
        try:
            do_book_slot(
                session,
                actor=actor,
                data=BookingIn(slot_id=rng.choice(slots), resident_id=rng.choice(patients)),
                idempotency_key=f"bench-service-{time.time_ns()}-{number}",
            )
            session.commit()
            booked += 1
        except AppError:
            session.rollback()
            refused += 1
        finally:
            session.close()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    writer.stop()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"bookings={booked} refused={refused} wall_ms_per_booking={wall / args.bookings * 1000:.3f} "
        f"cpu_ms_per_booking={cpu / args.bookings * 1000:.3f} (service, driver and audit writer, no HTTP)"
    )


if __name__ == "__main__":
    main()
