"""Bad-practice points (004 §2.6): expiry, appeal, the blacklist, and what a blacklisted doctor cannot do."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.evaluation.conduct import OVERTURNED, Point, Policy, active_points, blacklist_periods, blacklisted
from yilian.kit.clock import FixedClock
from yilian.models import Staff, StaffBlacklisting
from yilian.registry import repository as registry_repository

POLICY = Policy(threshold=12, expiry_days=365, appeal_days=15)
OFFENCES = (
    "代码,名称,分值,对象\nB01,违规收费,6,人员\nB02,推诿患者,4,人员\nJ01,未按规定公示价格,3,机构\n".encode()
)


def test_points_count_for_a_year_and_overturned_ones_never() -> None:
    points = [
        Point(6, date(2025, 11, 25)),  # counts until 2026-11-24 inclusive
        Point(4, date(2026, 3, 1)),
        Point(6, date(2026, 5, 1), status=OVERTURNED),
        Point(2, date(2026, 11, 1)),
    ]
    assert active_points(points, date(2026, 11, 24), POLICY) == 12
    assert blacklisted(points, date(2026, 11, 24), POLICY)
    assert active_points(points, date(2026, 11, 25), POLICY) == 6  # the first record has expired
    assert not blacklisted(points, date(2026, 11, 25), POLICY)


def _on_list(periods: list[tuple[date, date | None]], day: date) -> bool:
    return any(start <= day and (end is None or day < end) for start, end in periods)


@pytest.mark.parametrize(
    "policy",
    [POLICY, Policy(threshold=10, expiry_days=30), Policy(threshold=1, expiry_days=1), Policy(6, 10**9, 15)],
)
def test_the_recorded_periods_are_the_days_the_blacklist_holds(policy: Policy) -> None:
    """What the registry reads (decision 0030) is what `blacklisted` says, day by day: points that
    overlap, expire, are overturned, fall on one day; a policy whose expiry runs past the calendar."""
    points = [
        Point(6, date(2025, 11, 25)),
        Point(4, date(2026, 3, 1)),
        Point(6, date(2026, 5, 1), status=OVERTURNED),
        Point(2, date(2026, 11, 1)),
        Point(3, date(2026, 11, 1)),
        Point(9, date(2027, 2, 1)),
    ]
    periods = blacklist_periods(points, policy)
    day = date(2025, 11, 1)
    while day < date(2028, 3, 1):
        assert _on_list(periods, day) == blacklisted(points, day, policy), day
        day += timedelta(days=1)
    assert blacklist_periods([], policy) == []


def test_a_blacklisted_doctor_is_neither_scheduled_nor_posted_until_the_appeal_succeeds(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    doctor = Staff(
        code="S001",
        name="王医生",
        sex="M",
        practitioner_type="执业医师",
        home_institution_id=world.hospital.id,
    )
    session.add(doctor)
    session.flush()
    office = bearer(session, world.commission)
    assert (
        client.put(
            "/api/conduct/policy",
            json={"threshold": 10, "expiry_days": 365, "appeal_days": 15},
            headers=office,
        ).status_code
        == 200
    )
    assert client.post(
        "/api/conduct/offences", files={"file": ("o.csv", OFFENCES)}, headers=office
    ).json() == {"offences": 3}
    wrong = client.post(
        "/api/conduct/records",
        json={"offence_code": "J01", "occurred_on": "2026-11-01", "staff_id": doctor.id},
        headers=office,
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["field"] == "institution_id"
    first = client.post(
        "/api/conduct/records",
        json={"offence_code": "B01", "occurred_on": "2026-10-01", "staff_id": doctor.id},
        headers=office,
    ).json()
    second = client.post(
        "/api/conduct/records",
        json={"offence_code": "B02", "occurred_on": "2026-11-20", "staff_id": doctor.id},
        headers=office,
    ).json()
    assert (first["points"], second["points"]) == (6, 4)
    standing = client.get("/api/conduct/standing", params={"staff_id": doctor.id}, headers=office).json()
    assert standing == {"points": 10, "blacklisted": True, "threshold": 10}

    admin = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    )
    refused = client.post(
        "/api/schedules",
        json={
            "institution_id": world.hospital.id,
            "kind": "clinic",
            "name": "王医生门诊",
            "staff_id": doctor.id,
        },
        headers=admin,
    )
    assert refused.status_code == 422 and "黑名单" in refused.json()["error"]["fields"][0]["message_zh"]
    posting = {"institution_id": world.township_a.id, "kind": "县管乡用", "start_on": "2026-12-01"}
    posted = client.post(f"/api/staff/{doctor.id}/postings", json=posting, headers=office)
    assert posted.status_code == 422 and "不能派驻" in posted.json()["error"]["message_zh"]

    other = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    )
    assert (
        client.post(
            f"/api/conduct/records/{second['id']}/appeal", json={"reason": "患者自行离院"}, headers=other
        ).status_code
        == 403
    )
    appealed = client.post(
        f"/api/conduct/records/{second['id']}/appeal", json={"reason": "患者自行离院，有记录"}, headers=admin
    )
    assert appealed.json()["status"] == "appealed"
    # A pending appeal does not suspend the points.
    assert client.get("/api/conduct/standing", params={"staff_id": doctor.id}, headers=office).json()[
        "blacklisted"
    ]
    decided = client.post(
        f"/api/conduct/records/{second['id']}/decision", json={"overturn": True}, headers=office
    )
    assert decided.json()["status"] == "overturned"
    assert client.get("/api/conduct/standing", params={"staff_id": doctor.id}, headers=office).json() == {
        "points": 6,
        "blacklisted": False,
        "threshold": 10,
    }
    allowed = client.post(
        "/api/schedules",
        json={
            "institution_id": world.hospital.id,
            "kind": "clinic",
            "name": "王医生门诊",
            "staff_id": doctor.id,
        },
        headers=admin,
    )
    assert allowed.status_code == 201, allowed.text
    clock.advance(days=16)  # the first record was made on 2026-11-24: its 15-day appeal period is over
    late = client.post(
        f"/api/conduct/records/{first['id']}/appeal", json={"reason": "收费有据"}, headers=admin
    )
    assert late.status_code == 422 and "申诉期限" in late.json()["error"]["message_zh"]


def test_records_and_standings_are_listed_paged_filtered_and_exported(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    doctor = Staff(
        code="S002",
        name="李医生",
        sex="F",
        practitioner_type="执业医师",
        home_institution_id=world.hospital.id,
    )
    session.add(doctor)
    session.flush()
    office = bearer(session, world.commission)
    client.post("/api/conduct/offences", files={"file": ("o.csv", OFFENCES)}, headers=office)
    assert [o["code"] for o in client.get("/api/conduct/offences", headers=office).json()] == [
        "J01",
        "B01",
        "B02",
    ]
    assert client.get("/api/conduct/policy", headers=office).json() == {
        "threshold": 12,
        "expiry_days": 365,
        "appeal_days": 15,
    }
    for code, day in (("B01", "2026-10-01"), ("B01", "2026-10-02"), ("B02", "2026-11-01")):
        client.post(
            "/api/conduct/records",
            json={"offence_code": code, "occurred_on": day, "staff_id": doctor.id},
            headers=office,
        )
    client.post(
        "/api/conduct/records",
        json={"offence_code": "J01", "occurred_on": "2026-11-02", "institution_id": world.township_a.id},
        headers=office,
    )
    listed = client.get("/api/conduct/records", params={"limit": 2}, headers=office).json()
    assert listed["total"] == 4 and len(listed["items"]) == 2
    newest = listed["items"][0]
    assert (newest["kind"], newest["name"], newest["offence"], newest["status_label"]) == (
        "机构",
        world.township_a.name,
        "未按规定公示价格",
        "有效",
    )
    assert not newest["may_appeal"] and not newest["may_decide"]
    staff_only = client.get(
        "/api/conduct/records", params={"kind": "staff", "name": "李"}, headers=office
    ).json()
    assert staff_only["total"] == 3 and {i["institution_name"] for i in staff_only["items"]} == {
        world.hospital.name
    }

    # The hospital's administrator sees its staff's records only, and may appeal them.
    admin = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    )
    own = client.get("/api/conduct/records", headers=admin).json()
    assert own["total"] == 3 and all(i["may_appeal"] for i in own["items"])
    client.post(
        f"/api/conduct/records/{own['items'][0]['id']}/appeal", json={"reason": "有记录"}, headers=admin
    )
    pending = client.get("/api/conduct/records", params={"status": "appealed"}, headers=office).json()
    assert pending["total"] == 1 and pending["items"][0]["may_decide"]
    assert client.get("/api/conduct/records", headers=bearer(session, world.doctor)).status_code == 403

    blacklist = client.get("/api/conduct/standings", params={"blacklisted": True}, headers=office).json()
    assert blacklist["threshold"] == 12 and blacklist["total"] == 1  # 6 + 6 + 4 (an appeal does not suspend)
    ranked = client.get("/api/conduct/standings", headers=office).json()
    assert [(i["kind"], i["name"], i["points"], i["blacklisted"]) for i in ranked["items"]] == [
        ("人员", "李医生", 16, True),
        ("机构", world.township_a.name, 3, False),
    ]
    exported = client.get("/api/conduct/records/export", params={"kind": "staff"}, headers=office)
    assert exported.status_code == 200
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None and sheet.max_row == 1 + 3


def test_the_registry_reads_the_blacklist_evaluation_records_and_it_lapses_by_itself(
    client: TestClient, session: Session
) -> None:
    """Scheduling and postings ask the registry, which reads the periods evaluation writes with the
    points, the decision and the policy (decision 0030): no call up to evaluation, and the list ends
    on the day the points expire without anyone writing again."""
    world = build_world(session)
    doctor = Staff(
        code="S002",
        name="李医生",
        sex="F",
        practitioner_type="执业医师",
        home_institution_id=world.hospital.id,
    )
    session.add(doctor)
    session.flush()
    office = bearer(session, world.commission)
    policy = {"threshold": 10, "expiry_days": 365, "appeal_days": 15}
    assert client.put("/api/conduct/policy", json=policy, headers=office).status_code == 200
    client.post("/api/conduct/offences", files={"file": ("o.csv", OFFENCES)}, headers=office)
    for code, day in (("B01", "2026-10-01"), ("B02", "2026-11-20")):
        recorded = client.post(
            "/api/conduct/records",
            json={"offence_code": code, "occurred_on": day, "staff_id": doctor.id},
            headers=office,
        )
        assert recorded.status_code == 201, recorded.text
    rows = session.execute(
        select(StaffBlacklisting.starts_on, StaffBlacklisting.ends_before).where(
            StaffBlacklisting.staff_id == doctor.id
        )
    ).all()
    assert [tuple(r) for r in rows] == [(date(2026, 11, 20), date(2027, 10, 1))]  # B01 expires 2027-10-01
    assert registry_repository.blacklisted_staff(session, [doctor.id], date(2027, 9, 30)) == {doctor.id}
    assert registry_repository.blacklisted_staff(session, [doctor.id], date(2027, 10, 1)) == set()

    manager = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    admin = bearer(session, manager)
    schedule = {
        "institution_id": world.hospital.id,
        "kind": "clinic",
        "name": "李医生门诊",
        "staff_id": doctor.id,
    }
    assert client.post("/api/schedules", json=schedule, headers=admin).status_code == 422
    # A policy change is recorded for everyone with points at once: 10 points under a threshold of 12.
    lenient = {"threshold": 12, "expiry_days": 365, "appeal_days": 15}
    assert client.put("/api/conduct/policy", json=lenient, headers=office).status_code == 200
    assert client.post("/api/schedules", json=schedule, headers=admin).status_code == 201
