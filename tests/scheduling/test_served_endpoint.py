"""POST /api/bookings as a server runs it: its own session and commit (no test override of the
session), the audit writer's thread, and on PostgreSQL each statement in a transaction of its own."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from tests.factories.auth import bearer
from tests.factories.residents import create_resident
from tests.factories.scheduling import ct_slot
from tests.factories.world import build_world
from yilian.app import create_app
from yilian.config import Settings
from yilian.kit.clock import FixedClock
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import AuditLog, Booking, BookingEvent, Slot


def test_the_served_endpoint_books_once_per_key_and_audits(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as setup:
        world = build_world(setup)
        first_resident, second_resident = (create_resident(setup, grid=world.grid_a) for _ in range(2))
        slot = ct_slot(setup, world.hospital.id, capacity=1, booked=0)
        doctor = bearer(setup, world.family_doctor_a)
        setup.commit()
    settings = Settings(database_url=fresh_database_url, secret_key="test")
    app = create_app(settings, clock=FixedClock(datetime(2026, 11, 24, 9)))
    body = {"slot_id": slot.id, "resident_id": first_resident.id}
    with TestClient(app) as client:
        first = client.post("/api/bookings", json=body, headers={**doctor, "Idempotency-Key": "served-1"})
        again = client.post("/api/bookings", json=body, headers={**doctor, "Idempotency-Key": "served-1"})
        full = client.post(
            "/api/bookings",
            json={"slot_id": slot.id, "resident_id": second_resident.id},
            headers={**doctor, "Idempotency-Key": "served-2"},
        )
    # Leaving the client stops the app: its audit writer has written everything queued.
    assert (first.status_code, again.status_code, full.status_code) == (201, 200, 422), first.text
    assert first.json()["id"] == again.json()["id"] and first.json()["channel"] == "grassroots"
    assert "约满" in full.json()["error"]["fields"][0]["message_zh"]
    with factory() as check:
        assert check.scalar(select(Slot.booked).where(Slot.id == slot.id)) == 1
        assert check.scalars(select(Booking.resident_id)).all() == [first_resident.id]
        assert check.scalar(select(func.count()).select_from(BookingEvent)) == 1
        audited = check.execute(
            select(AuditLog.action, AuditLog.resident_id).where(AuditLog.entity.in_(("resident", "booking")))
        ).all()
    assert ("create", first_resident.id) in audited and ("read", first_resident.id) in audited
    engine.dispose()
