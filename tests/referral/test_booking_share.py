"""Issue 21: 001 二、(一) — by 2020 referral bookings are ≥ 30 % of the city public hospital's
outpatients. A worked example with a share that is not zero, and the target shown with its clause."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.encounters import create_encounter
from tests.factories.referral import hospital_doctor
from tests.factories.residents import create_resident
from tests.factories.scheduling import booked, ct_slot, publish
from tests.factories.world import build_world
from yilian.kit.clock import FixedClock


def test_three_of_ten_outpatients_came_by_referral_booking(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    """November 2026 at 灵武市人民医院 (二级): 10 outpatient visits (and a stay, not a visit). Family
    doctors booked six of its clinic places: three patients came (checked in), one did not come, one
    booking was cancelled, one is for a day still ahead; they also booked a CT scan, which is an exam,
    not an outpatient visit. A resident booked a clinic place herself: not a referral.
    3 of 10 = 30 %, the target met."""
    world = build_world(session)
    _, slots = publish(client, session, world, count=10, day="2026-11-26")
    _, later = publish(client, session, world, count=2, day="2026-11-30")
    family = bearer(session, world.family_doctor_a)
    desk = hospital_doctor(session, world)
    patients = [create_resident(session, grid=world.grid_a) for _ in range(7)]
    public = [s for s in slots if s["pool"] == "public"]

    def book(slot_id: object, resident_id: int, headers: dict[str, str]) -> int:
        made = booked(client, headers, slot_id, resident_id)
        assert made["channel"] == ("grassroots" if headers is family else "public")
        return int(made["id"])

    referred = [book(slots[n]["id"], patients[n].id, family) for n in range(5)]
    book(later[0]["id"], patients[5].id, family)  # 30 November: not yet come
    scan = book(ct_slot(session, world.hospital.id, capacity=1, booked=0).id, patients[6].id, family)
    own = book(public[-1]["id"], world.resident_a.id, bearer(session, world.resident_user_a))
    assert client.post(f"/api/bookings/{referred[4]}/cancel", headers=family).status_code == 200
    clock.advance(days=2)  # 26 November, the appointments' day
    for booking in (*referred[:3], scan, own):
        arrived = client.post(f"/api/bookings/{booking}/check_in", json={}, headers=desk)
        assert arrived.status_code == 200, arrived.text
    assert client.post(f"/api/bookings/{referred[3]}/no_show", headers=desk).status_code == 200
    for day in range(1, 11):
        create_encounter(
            session, resident=world.resident_b, institution=world.hospital, on=date(2026, 11, day)
        )
    create_encounter(
        session,
        resident=world.resident_b,
        institution=world.hospital,
        on=date(2026, 11, 12),
        kind="inpatient",
    )
    create_encounter(session, resident=world.resident_b, institution=world.township_a, on=date(2026, 11, 13))

    figures = client.get(
        "/api/referrals/figures",
        params={"start": "2026-11-01", "end": "2026-11-30"},
        headers=bearer(session, world.commission),
    ).json()
    assert (figures["county_outpatient_visits"], figures["referral_bookings"]) == (10, 3), figures
    assert figures["referral_booking_share"] == 0.3
    assert (figures["referral_booking_target"], figures["referral_booking_target_met"]) == (0.3, True)
    assert figures["referral_booking_target_source"].startswith(
        "舟山市人民政府办公室《舟山市高水平区域医疗联合体建设方案》（舟政办发〔2018〕21号，2018年）二、组织模式"
    )
    assert "预约转诊占城市公立医院门诊比例达到30%以上" in figures["referral_booking_target_source"]
