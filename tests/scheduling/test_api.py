"""Booking through the API: reserved pool, release, idempotency, duplicates, cancel, extra slots, policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, headers_for
from tests.factories.chronic import create_register
from tests.factories.referral import create_referral
from tests.factories.residents import create_resident
from tests.factories.scheduling import book, booked, hospital_admin, publish
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.config import Settings
from yilian.kit.clock import FixedClock
from yilian.models import Booking, BookingEvent, Slot


def test_twenty_percent_reserved_and_spread(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    assert [i for i, s in enumerate(slots) if s["pool"] == "reserved"] == [2, 7]


def test_public_cannot_take_reserved_until_released(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world, day="2026-11-26")
    reserved = next(s for s in slots if s["pool"] == "reserved")
    citizen = headers_for(session, role=roles.RESIDENT, resident_id=world.resident_a.id)
    refused = book(client, citizen, reserved["id"], world.resident_a.id)
    assert refused.status_code == 422 and "预留给基层" in refused.json()["error"]["fields"][0]["message_zh"]
    assert session.scalar(select(Slot.booked).where(Slot.id == reserved["id"])) == 0
    clock.at = datetime.fromisoformat(str(reserved["starts_at"])) - __import__("datetime").timedelta(hours=23)
    taken = book(client, citizen, reserved["id"], world.resident_a.id)
    assert taken.status_code == 201, taken.text
    assert (taken.json()["pool"], taken.json()["channel"]) == ("public", "public")


def test_family_doctor_books_reserved_once_per_key(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    reserved = next(s for s in slots if s["pool"] == "reserved")
    doctor = {**bearer(session, world.family_doctor_a), "Idempotency-Key": "f7c1-booking-1"}
    body = {"slot_id": reserved["id"], "resident_id": world.resident_a.id}
    first = client.post("/api/bookings", json=body, headers=doctor)
    again = client.post("/api/bookings", json=body, headers=doctor)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["channel"] == "grassroots"
    assert session.scalar(select(func.count()).select_from(Booking)) == 1
    assert session.scalar(select(Slot.booked).where(Slot.id == reserved["id"])) == 1
    reused = client.post("/api/bookings", json={**body, "slot_id": slots[0]["id"]}, headers=doctor)
    assert reused.status_code == 409


def test_a_malformed_booking_names_its_field_and_books_nothing(client: TestClient, session: Session) -> None:
    """A bad body or Idempotency-Key header is a 422 naming the field; nothing is booked."""
    world = build_world(session)
    _, slots = publish(client, session, world)
    doctor = bearer(session, world.family_doctor_a)

    def fields(response: Any) -> list[str]:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message_zh"] == "请求格式不正确"
        return [f["field"] for f in response.json()["error"]["fields"]]

    text_id = client.post("/api/bookings", json={"slot_id": "三号", "resident_id": 1}, headers=doctor)
    assert fields(text_id) == ["slot_id"]
    assert fields(client.post("/api/bookings", json={"slot_id": slots[0]["id"]}, headers=doctor)) == [
        "resident_id"
    ]
    assert fields(client.post("/api/bookings", content=b"{", headers=doctor)) == ["body"]
    assert fields(client.post("/api/bookings", headers=doctor)) == ["body"]
    long_key = {**doctor, "Idempotency-Key": "k" * 65}
    body = {"slot_id": slots[0]["id"], "resident_id": world.resident_a.id}
    assert fields(client.post("/api/bookings", json=body, headers=long_key)) == ["header.Idempotency-Key"]
    assert client.post("/api/bookings", json=body).status_code == 401
    assert session.scalar(select(func.count()).select_from(Booking)) == 0


def test_the_booking_endpoint_is_documented(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/bookings"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/BookingIn"}
    assert document["components"]["schemas"]["BookingIn"]["required"] == ["slot_id", "resident_id"]
    assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BookingOut"
    }


def test_same_department_same_session_twice_is_refused(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    doctor = bearer(session, world.family_doctor_a)
    assert book(client, doctor, slots[0]["id"], world.resident_a.id).status_code == 201
    second = book(client, doctor, slots[1]["id"], world.resident_a.id)
    assert second.status_code == 409 and "同一科室同一时段" in second.json()["error"]["message_zh"]
    assert session.scalar(select(Slot.booked).where(Slot.id == slots[1]["id"])) == 0  # nothing changed


def test_full_past_and_cancel(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    doctor = bearer(session, world.family_doctor_a)
    first = booked(client, doctor, slots[0]["id"], world.resident_a.id)
    full = book(
        client,
        headers_for(session, role=roles.RESIDENT, resident_id=world.resident_b.id),
        slots[0]["id"],
        world.resident_b.id,
    )
    assert full.status_code == 422 and "约满" in full.json()["error"]["fields"][0]["message_zh"]
    cancelled = client.post(f"/api/bookings/{first['id']}/cancel", headers=doctor)
    assert cancelled.json()["status"] == "cancelled"
    assert session.scalar(select(Slot.booked).where(Slot.id == slots[0]["id"])) == 0
    history = session.scalars(
        select(BookingEvent.status).where(BookingEvent.booking_id == first["id"]).order_by(BookingEvent.id)
    ).all()
    assert history == ["booked", "cancelled"]
    again = client.post(f"/api/bookings/{first['id']}/cancel", headers=doctor)
    assert again.status_code == 422


def test_past_slot_cannot_be_booked(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world, day="2026-11-24", start="10:00")
    clock.at = datetime(2026, 11, 24, 10, 30)
    response = book(client, bearer(session, world.family_doctor_a), slots[0]["id"], world.resident_a.id)
    assert response.status_code == 422 and "已过时间" in response.json()["error"]["fields"][0]["message_zh"]


def test_same_day_extra_slots_within_cap(client: TestClient, session: Session) -> None:
    world = build_world(session)
    admin, slots = publish(client, session, world, day="2026-11-24", start="14:00")
    assert (
        client.put(
            "/api/booking-policy", json={"year": 2026, "reserved_share": 20, "extra_cap": 2}, headers=admin
        ).status_code
        == 200
    )
    doctor = bearer(session, world.family_doctor_a)
    schedule_id = slots[0]["schedule_id"]
    for minute in ("16:00", "16:10"):
        added = client.post(
            "/api/slots/extra",
            json={"schedule_id": schedule_id, "starts_at": f"2026-11-24T{minute}"},
            headers=doctor,
        )
        assert added.status_code == 201, added.text
    third = client.post(
        "/api/slots/extra", json={"schedule_id": schedule_id, "starts_at": "2026-11-24T16:20"}, headers=doctor
    )
    assert third.status_code == 422 and "上限2" in third.json()["error"]["fields"][0]["message_zh"]
    tomorrow = client.post(
        "/api/slots/extra", json={"schedule_id": schedule_id, "starts_at": "2026-11-25T09:00"}, headers=doctor
    )
    assert tomorrow.status_code == 422


def test_policy_cannot_fall(client: TestClient, session: Session) -> None:
    world = build_world(session)
    admin = hospital_admin(session, world)
    assert (
        client.put(
            "/api/booking-policy", json={"year": 2026, "reserved_share": 25}, headers=admin
        ).status_code
        == 200
    )
    low = client.put("/api/booking-policy", json={"year": 2027, "reserved_share": 22}, headers=admin)
    assert low.status_code == 422 and "25%" in low.json()["error"]["fields"][0]["message_zh"]
    floor = client.put("/api/booking-policy", json={"year": 2027, "reserved_share": 15}, headers=admin)
    assert floor.status_code == 422
    _, slots = publish(client, session, world, day="2026-11-27", count=20)
    assert sum(1 for s in slots if s["pool"] == "reserved") == 5  # 25 % of 20


def test_reserved_share_rises_yearly_to_the_ceiling_and_the_report_shows_the_trend(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """001 §2.1 "比例逐年提高", the commission's ceiling set to 22 %: 2026 20 %; 2027 20 % refused,
    22 % accepted; 2028 22 % (at the ceiling) accepted, 23 % refused. The quota report shows
    20 → 22 → 22 against the 22 % ceiling."""
    settings.reserved_share_ceiling = 22
    world = build_world(session)
    admin = hospital_admin(session, world)

    def put(year: int, share: int) -> tuple[int, str]:
        response = client.put(
            "/api/booking-policy", json={"year": year, "reserved_share": share}, headers=admin
        )
        body = response.json()
        return response.status_code, body["error"]["fields"][0]["message_zh"] if "error" in body else ""

    assert put(2026, 20) == (200, "")
    assert put(2027, 20) == (422, "2027年预留比例应高于2026年的20%（逐年提高，上限22%）")
    assert put(2027, 22) == (200, "")
    assert put(2028, 23) == (422, "预留比例不得高于卫生健康委设定的上限22%")
    assert put(2028, 22) == (200, "")
    publish(client, session, world, count=10, day="2026-11-25", start="08:00")
    report = client.get(
        "/api/booking/quota-report",
        params={"start": "2026-11-25", "end": "2026-11-25"},
        headers=bearer(session, world.commission),
    ).json()
    assert [(r["reserved_share_by_year"], r["reserved_share_ceiling"]) for r in report] == [
        (
            [
                {"year": 2026, "reserved_share": 20.0},
                {"year": 2027, "reserved_share": 22.0},
                {"year": 2028, "reserved_share": 22.0},
            ],
            22.0,
        )
    ]


def test_quota_report_and_release(client: TestClient, session: Session, clock: FixedClock) -> None:
    from yilian.scheduling.service import do_release_reserved

    world = build_world(session)
    _, slots = publish(client, session, world, count=10, day="2026-11-25", start="08:00")
    reserved = [s for s in slots if s["pool"] == "reserved"]
    family = bearer(session, world.family_doctor_a)
    assert book(client, family, reserved[0]["id"], world.resident_a.id).status_code == 201
    # At 2026-11-24 09:30 both reserved slots (tomorrow 08:20 and 09:10) are inside the 24-hour release window.
    released = do_release_reserved(session, now=clock.now())
    assert released == 1  # the free one; the booked one stays reserved
    report = client.get(
        "/api/booking/quota-report",
        params={"start": "2026-11-25", "end": "2026-11-25"},
        headers=bearer(session, world.commission),
    ).json()
    assert report == [
        {
            "institution_id": world.hospital.id,
            "institution": "灵武市人民医院",
            "slots": 10,
            "reserved": 2,
            "reserved_share": 0.2,
            "reserved_used_by_grassroots": 1,
            "grassroots_use_of_reserved": 0.5,
            "released": 1,
            "reserved_share_by_year": [],
            "reserved_share_ceiling": 50.0,
        }
    ]


def test_chronic_referral_priority_is_for_registered_chronic_patients_referred_up(
    client: TestClient, session: Session
) -> None:
    """002 items 15, 17: the longer booking window (14 days, not 7) belongs to registered chronic patients
    referred upward through the joint chronic clinic; a referral alone does not give it."""
    from datetime import date

    world = build_world(session)
    _, slots = publish(client, session, world, day="2026-12-04")  # 10 days after the clock's 2026-11-24
    public = [s for s in slots if s["pool"] == "public"]

    def referral(resident_id: int) -> int:
        return create_referral(
            session,
            resident_id=resident_id,
            from_institution_id=world.township_a.id,
            to_institution_id=world.hospital.id,
            status="accepted",
        ).id

    patient = create_resident(session, grid=world.grid_a, name="马志强", born=date(1980, 6, 1), sex="M")
    own, others = referral(patient.id), referral(world.resident_b.id)
    citizen = headers_for(session, role=roles.RESIDENT, resident_id=patient.id)

    def book_referred(slot: dict[str, object], referral_id: int) -> Any:
        return book(client, citizen, slot["id"], patient.id, referral_id=referral_id)

    not_chronic = book_referred(public[0], own)
    assert not_chronic.status_code == 422, not_chronic.text
    assert not_chronic.json()["error"]["fields"][0]["field"] == "slot_id"  # outside the 7-day window
    someone_elses = book_referred(public[0], others)
    assert someone_elses.status_code == 422
    assert someone_elses.json()["error"]["fields"][0]["field"] == "referral_id"
    create_register(session, resident=patient, disease="hypertension", registered_on=date(2025, 3, 1))
    chronic = book_referred(public[0], own)
    assert chronic.status_code == 201, chronic.text


def test_check_in_only_on_the_appointments_day(client: TestClient, session: Session, clock: FixedClock) -> None:
    """A desk cannot record an arrival for a later day's appointment, nor a no-show before its time;
    after the day, only within the configured grace (0 days by default)."""
    world = build_world(session)
    neighbour = create_resident(session, grid=world.grid_a, name="王秀英")
    _, slots = publish(client, session, world, day="2026-11-26", start="08:00")
    family = bearer(session, world.family_doctor_a)
    first, second = (
        booked(client, family, s["id"], r.id) for s, r in ((slots[0], world.resident_a), (slots[1], neighbour))
    )
    desk = bearer(session, world.doctor)  # a doctor of the county hospital that receives them
    early = client.post(f"/api/bookings/{first['id']}/check_in", headers=desk)  # clock: 2026-11-24 09:30
    assert early.status_code == 422, early.text
    assert early.json()["error"]["fields"][0]["field"] == "day"
    assert "2026-11-26" in early.json()["error"]["fields"][0]["message_zh"]
    not_yet = client.post(f"/api/bookings/{first['id']}/no_show", headers=desk)
    assert not_yet.status_code == 422 and not_yet.json()["error"]["fields"][0]["field"] == "day"
    assert session.scalar(select(Booking.status).where(Booking.id == first["id"])) == "booked"

    clock.at = datetime(2026, 11, 26, 7, 45)  # the day itself, before the slot's time
    assert client.post(f"/api/bookings/{first['id']}/check_in", headers=desk).status_code == 200
    clock.at = datetime(2026, 11, 27, 8, 0)  # the next day: too late with no grace
    late = client.post(f"/api/bookings/{second['id']}/check_in", headers=desk)
    assert late.status_code == 422 and late.json()["error"]["fields"][0]["field"] == "day"
    client.app.state.settings.arrival_grace_days = 1  # type: ignore[attr-defined]
    assert client.post(f"/api/bookings/{second['id']}/check_in", headers=desk).status_code == 200
    assert session.scalar(select(Booking.status).where(Booking.id == second["id"])) == "checked_in"
