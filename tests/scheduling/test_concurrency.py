"""Many clients booking one small pool at once: exactly the capacity is booked, never twice — on SQLite
and on PostgreSQL (each client in its own connection and transaction, as in production)."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories.residents import create_resident
from tests.factories.scheduling import ct_slot
from tests.factories.world import build_world
from yilian.auth.context import Actor
from yilian.auth.service import subject_of
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditWriter
from yilian.kit.clock import FixedClock
from yilian.kit.db import make_engine
from yilian.kit.errors import AppError
from yilian.kit.migrate import upgrade
from yilian.models import Booking, BookingEvent, Slot
from yilian.scheduling import places
from yilian.scheduling.booking import do_book_slot
from yilian.scheduling.schemas import BookingIn

CLIENTS = 24
CAPACITY = 5


def booking_values(slot: Slot, resident_id: int, user_id: int, key: str) -> dict[str, object]:
    """What the service hands `places.book_place` for a grassroots booking of `slot`."""
    return {
        "slot_id": slot.id,
        "resident_id": resident_id,
        "booked_by_user_id": user_id,
        "channel": "grassroots",
        "pool": "public",
        "status": "booked",
        "resource_key": f"s{slot.schedule_id}",
        "session_date": date(2026, 11, 26),
        "session_half": "am",
        "idempotency_key": key,
        "referral_id": None,
        "created_at": datetime(2026, 11, 24, 9),
        "updated_at": datetime(2026, 11, 24, 9),
    }


def test_concurrent_clients_fill_exactly_the_capacity(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)
    engine = (
        make_engine(fresh_database_url, pool_size=CLIENTS, max_overflow=0)
        if not fresh_database_url.startswith("sqlite")
        else make_engine(fresh_database_url)
    )
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        world = build_world(session)
        residents = [create_resident(session, grid=world.grid_a) for _ in range(CLIENTS)]
        slot = ct_slot(session, world.hospital.id, capacity=CAPACITY, booked=0)
        session.commit()
        subject = subject_of(session, world.family_doctor_a)
        slot_id, resident_ids = slot.id, [r.id for r in residents]
    outcomes: list[str] = []
    barrier = threading.Barrier(CLIENTS)

    def client(resident_id: int) -> None:
        actor = Actor(
            subject=subject,
            endpoint="POST /api/bookings",
            audit=AuditWriter(key=DEMO_CHAIN_KEY),
            clock=FixedClock(datetime(2026, 11, 24, 9)),
        )
        barrier.wait()
        with factory() as session:
            try:
                do_book_slot(
                    session,
                    actor=actor,
                    data=BookingIn(slot_id=slot_id, resident_id=resident_id),
                    idempotency_key=f"k-{resident_id}",
                )
                session.commit()
                outcomes.append("booked")
            except AppError as error:
                session.rollback()
                outcomes.append(f"refused {error.status}")

    threads = [threading.Thread(target=client, args=(r,)) for r in resident_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with factory() as session:
        booked = session.scalar(select(Slot.booked).where(Slot.id == slot_id))
        bookings = session.scalar(select(func.count()).select_from(Booking).where(Booking.slot_id == slot_id))
    engine.dispose()
    assert len(outcomes) == CLIENTS
    assert outcomes.count("booked") == CAPACITY == booked == bookings
    assert all(o in ("booked", "refused 409", "refused 422") for o in outcomes)


def test_a_place_lost_after_the_booking_went_in_leaves_nothing(session: Session) -> None:
    """The booking row is written before its place is taken; when the place is gone by then — a
    concurrent booker took it — the row goes again, inside the caller's transaction, so a caller
    that carries on (a referral, a FHIR Bundle) keeps no orphan booking."""
    world = build_world(session)
    resident = create_resident(session, grid=world.grid_a)
    full = ct_slot(session, world.hospital.id, capacity=2, booked=2)  # the concurrent booker committed
    values = booking_values(full, resident.id, world.family_doctor_a.id, "lost-place")
    with pytest.raises(places.PlaceTaken):
        places.book_place(session, values, via_grassroots=True, released_before=datetime(2026, 11, 25, 9))
    assert session.scalar(select(func.count()).select_from(Booking)) == 0
    assert session.scalar(select(func.count()).select_from(BookingEvent)) == 0
    assert session.scalar(select(Slot.booked).where(Slot.id == full.id)) == 2
    # With a place free the same values book, once: the retry under the same key is refused.
    full.capacity = 3
    session.flush()
    booking_id = places.book_place(
        session, values, via_grassroots=True, released_before=datetime(2026, 11, 25, 9)
    )
    with pytest.raises(places.AlreadyBooked):
        places.book_place(session, values, via_grassroots=True, released_before=datetime(2026, 11, 25, 9))
    assert session.scalar(select(Slot.booked).where(Slot.id == full.id)) == 3
    assert session.scalars(select(BookingEvent.booking_id)).all() == [booking_id]


def test_an_api_booking_commits_in_one_transaction(fresh_database_url: str) -> None:
    """A session that has not begun (an API booking) books in one transaction on both engines, so
    that the booking's audit row commits with it (decision 0019): nothing is visible to others
    before the commit, and a lost place takes only its own row with it, not the transaction."""
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as setup:
        world = build_world(setup)
        resident = create_resident(setup, grid=world.grid_a)
        full = ct_slot(setup, world.hospital.id, capacity=2, booked=2)
        free = ct_slot(setup, world.hospital.id, capacity=1, booked=0)
        setup.commit()
        user_id = world.family_doctor_a.id
    released = datetime(2026, 11, 25, 9)
    with factory() as session:
        with pytest.raises(places.PlaceTaken):
            places.book_place(
                session,
                booking_values(full, resident.id, user_id, "a"),
                via_grassroots=True,
                released_before=released,
            )
        booking_id = places.book_place(
            session,
            booking_values(free, resident.id, user_id, "b"),
            via_grassroots=True,
            released_before=released,
        )
        if engine.dialect.name == "postgresql":  # (SQLite: one writer at a time, a reader would wait)
            with factory() as other:  # before this session commits
                assert other.scalar(select(func.count()).select_from(Booking)) == 0
        session.commit()
    with factory() as check:
        assert check.scalars(select(Booking.id)).all() == [booking_id]
        assert check.scalars(select(BookingEvent.booking_id)).all() == [booking_id]
        assert check.scalars(select(Slot.booked).order_by(Slot.id)).all() == [2, 1]
    engine.dispose()
