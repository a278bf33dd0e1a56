"""Referrals through the API: upward with a reserved slot in one step, decisions, downward follow-up, figures."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, headers_for
from tests.factories.encounters import create_encounter
from tests.factories.referral import UP_BODY, hospital_doctor, move, refer_up, send, walk
from tests.factories.registry import create_institution
from tests.factories.scheduling import book, publish
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.kit.clock import FixedClock
from yilian.models import Booking, FollowUpTask, Referral


def test_upward_referral_books_a_reserved_slot_in_one_step(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    reserved = next(s for s in slots if s["pool"] == "reserved")
    referral = refer_up(client, bearer(session, world.family_doctor_a), world, slot_id=reserved["id"])
    assert (referral["status"], referral["inside_consortium"]) == ("requested", True)
    booking = session.get(Booking, referral["booking_id"])
    assert booking is not None and (booking.referral_id, booking.pool, booking.channel) == (
        referral["id"],
        "reserved",
        "grassroots",
    )
    # The receiving hospital sees it (the referral opens the record) and walks it to completion.
    doctor = hospital_doctor(session, world)
    incoming = client.get("/api/referrals", params={"box": "incoming"}, headers=doctor).json()
    assert [r["id"] for r in incoming["items"]] == [referral["id"]]
    assert incoming["total"] == 1
    shown = incoming["items"][0]
    assert shown["diagnosis_labels"] == ["高血压（I10.x00）", "脑梗死（I63.900）"]
    assert (shown["from_institution_name"], shown["to_institution_name"]) == (
        world.township_a.name,
        world.hospital.name,
    )
    assert shown["booked_at"] == reserved["starts_at"]
    assert client.get(f"/api/residents/{world.resident_a.id}", headers=doctor).status_code == 200
    walk(client, doctor, referral["id"], "accepted", "arrived", "completed")
    assert session.scalar(select(Referral.status).where(Referral.id == referral["id"])) == "completed"


def test_failed_slot_leaves_no_referral(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    taken = slots[0]
    book(
        client,
        headers_for(session, role=roles.RESIDENT, resident_id=world.resident_b.id),
        taken["id"],
        world.resident_b.id,
    )
    response = send(
        client,
        bearer(session, world.family_doctor_a),
        resident_id=world.resident_a.id,
        to_institution_id=world.hospital.id,
        slot_id=taken["id"],
    )
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_wrong_side_wrong_order_and_missing_reason(client: TestClient, session: Session) -> None:
    world = build_world(session)
    family = bearer(session, world.family_doctor_a)
    referral = refer_up(client, family, world)
    own_accept = move(client, family, referral["id"], "accepted")
    assert own_accept.status_code == 422 and "接收方" in own_accept.json()["error"]["fields"][0]["message_zh"]
    doctor = hospital_doctor(session, world)
    skip = move(client, doctor, referral["id"], "completed")
    assert skip.status_code == 422
    no_reason = move(client, doctor, referral["id"], "rejected")
    assert no_reason.status_code == 422 and no_reason.json()["error"]["fields"][0]["field"] == "reason"
    assert session.scalar(select(Referral.status).where(Referral.id == referral["id"])) == "requested"


def test_outside_the_consortium_needs_a_reason(client: TestClient, session: Session) -> None:
    world = build_world(session)
    provincial = create_institution(
        session, name="宁夏医科大学总医院", type="综合医院", level="三级", region_code="640104"
    )
    body = {**UP_BODY, "resident_id": world.resident_a.id, "to_institution_id": provincial.id}
    family = bearer(session, world.family_doctor_a)
    refused = client.post("/api/referrals", json=body, headers=family)
    assert refused.status_code == 422 and refused.json()["error"]["fields"][0]["field"] == "reason"
    accepted = client.post(
        "/api/referrals", json={**body, "reason": "需急诊介入，医共体内无条件"}, headers=family
    )
    assert accepted.status_code == 201 and accepted.json()["inside_consortium"] is False


def test_downward_referral_creates_a_follow_up_task(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.hospital,
        on=date(2026, 11, 10),
        kind="inpatient",
        diagnoses=("I63.900",),
    )
    doctor = hospital_doctor(session, world)
    body = {
        "direction": "down",
        "resident_id": world.resident_a.id,
        "to_institution_id": world.township_a.id,
        "diagnoses": ["I63.900"],
        "summary": "脑梗死恢复期，转回乡镇卫生院康复",
    }
    referral = client.post("/api/referrals", json=body, headers=doctor)
    assert referral.status_code == 201, referral.text
    township = bearer(session, world.family_doctor_a)
    step = walk(client, township, referral.json()["id"], "accepted", "arrived", "followed_up")
    assert step.json()["follow_up_due_on"] == "2026-12-08"
    task = session.scalar(select(FollowUpTask).where(FollowUpTask.referral_id == referral.json()["id"]))
    assert task is not None and task.institution_id == world.township_a.id and "康复" in task.content

    def overdue() -> int:
        return int(
            client.get(
                "/api/referrals/figures",
                params={"start": "2026-11-01", "end": "2026-11-30"},
                headers=bearer(session, world.commission),
            ).json()["overdue_follow_ups"]
        )

    assert overdue() == 0
    clock.advance(days=15)  # past the 14-day follow-up, still open
    assert overdue() == 1


def test_figures(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    family = bearer(session, world.family_doctor_a)
    doctor = hospital_doctor(session, world)
    ids = [refer_up(client, family, world, resident_id=r.id)["id"] for r in (world.resident_a, world.resident_a)]
    clock.advance(hours=3)
    move(client, doctor, ids[0], "accepted")
    clock.advance(hours=27)  # the second is answered 30 h after it was sent
    move(client, doctor, ids[1], "rejected", reason="无床位")
    clock.advance(hours=2)
    move(client, doctor, ids[0], "arrived")
    for day in (1, 2, 3, 4):
        create_encounter(
            session, resident=world.resident_b, institution=world.hospital, on=date(2026, 11, day)
        )
    figures = client.get(
        "/api/referrals/figures",
        params={"start": "2026-11-01", "end": "2026-11-30"},
        headers=bearer(session, world.commission),
    ).json()
    assert (figures["up"], figures["down"], figures["acceptance_rate"]) == (2, 0, 0.5)
    assert figures["by_status"] == {"arrived": 1, "rejected": 1}
    # Decisions after 3 h and 30 h: median 16.5 h, 90th percentile (nearest rank) 30 h, half within 24 h;
    # the accepted patient arrived 29 h after acceptance.
    assert (figures["median_hours_to_decision"], figures["p90_hours_to_decision"]) == (16.5, 30.0)
    assert (figures["decision_target_hours"], figures["decided_within_target_share"]) == (24.0, 0.5)
    assert figures["median_hours_accepted_to_arrival"] == 29.0
    relaxed = client.get(
        "/api/referrals/figures",
        params={"start": "2026-11-01", "end": "2026-11-30", "decision_target_hours": 48},
        headers=bearer(session, world.commission),
    ).json()
    assert relaxed["decided_within_target_share"] == 1.0
    assert figures["county_outpatient_visits"] == 4 and figures["referral_booking_share"] == 0.0


def test_incoming_box_is_paged_and_filtered_with_its_total(client: TestClient, session: Session) -> None:
    world = build_world(session)
    family = bearer(session, world.family_doctor_a)
    ids = [refer_up(client, family, world)["id"] for _ in range(3)]
    doctor = hospital_doctor(session, world)
    refused = move(client, doctor, ids[0], "rejected", reason="床位已满")
    assert refused.status_code == 200, refused.text
    page = client.get("/api/referrals", params={"status": "requested", "limit": 1}, headers=doctor).json()
    assert (page["total"], len(page["items"]), page["items"][0]["status_label"]) == (2, 1, "申请")
    second = client.get(
        "/api/referrals", params={"status": "requested", "limit": 1, "offset": 1}, headers=doctor
    ).json()
    assert {page["items"][0]["id"], second["items"][0]["id"]} == set(ids[1:])
    everything = client.get("/api/referrals", headers=doctor).json()
    assert everything["total"] == 3
    bad = client.get("/api/referrals", params={"status": "lost"}, headers=doctor)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "status"
