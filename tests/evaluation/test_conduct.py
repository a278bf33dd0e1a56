"""Bad-practice points (004 §2.6): expiry, appeal, the blacklist, and what a blacklisted doctor cannot do."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.evaluation.conduct import OVERTURNED, Point, Policy, active_points, blacklisted
from yilian.kit.clock import FixedClock
from yilian.models import Staff

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
