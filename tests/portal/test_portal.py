"""The residents' portal through its JSON API (the phone pages at /m/ call nothing else): phone-code
login bound to the ID number, own record and wards only, who looked at my record, the health card
scanned and revoked, booking by hospital, department, day and time, my bookings upcoming first."""

from __future__ import annotations

import re
from datetime import date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.audit import drain_audit
from tests.factories.auth import PASSWORD, bearer, create_user
from tests.factories.auth import login as staff_login
from tests.factories.referral import create_referral
from tests.factories.residents import create_resident
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.kit.audit import AuditWriter
from yilian.kit.clock import FixedClock
from yilian.models import Department, OtpChallenge, User
from yilian.portal.sms import MemorySender


def portal_login(
    client: TestClient, phone: str, id_number: str, *, code: str | None = None
) -> tuple[int, dict[str, object]]:
    """Ask for a code, read it from the memory sender, sign in; (status, answer). The CSRF token of
    the session is remembered on the client for its writes."""
    sender = MemorySender()
    client.app.state.sms = sender  # type: ignore[attr-defined]
    sent = client.post("/api/portal/login/code", json={"phone": phone})
    assert sent.status_code == 200, sent.text
    received = re.search(r"验证码为(\d{6})", sender.outbox[-1][1]).group(1)  # type: ignore[union-attr]
    done = client.post(
        "/api/portal/session",
        json={"phone": phone, "code": code or received, "id_number": id_number},
    )
    answer = done.json()
    if done.status_code == 200:
        client.headers["X-CSRF-Token"] = answer["csrf_token"]
    return done.status_code, answer


def message(answer: dict[str, object]) -> str:
    return str(answer["error"]["message_zh"])  # type: ignore[index]


def test_phone_code_login_binds_to_the_id_number(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    phone = world.resident_a.phone or ""
    stranger = create_resident(session, grid=world.grid_b, phone="13800000000")
    status, answer = portal_login(client, phone, stranger.id_number)
    assert status == 401 and "身份证号与该手机号登记的居民不符" in message(answer)
    clock.advance(minutes=2)
    status, answer = portal_login(client, phone, world.resident_a.id_number, code="000000")
    assert status == 401 and "验证码错误" in message(answer)
    clock.advance(minutes=2)
    status, answer = portal_login(client, phone, world.resident_a.id_number)
    assert status == 200 and answer["role"] == roles.RESIDENT
    assert answer["resident_id"] == world.resident_a.id
    card = client.get("/api/portal/card")
    assert card.status_code == 200 and card.json()["person"]["name"] == world.resident_a.name
    assert card.json()["qr"].startswith("data:image/svg+xml;base64,")
    user = session.scalar(
        select(User).where(User.resident_id == world.resident_a.id, User.role == roles.RESIDENT)
    )
    assert user is not None
    # Codes are stored hashed, never in clear.
    assert all(len(c.code_hash) == 64 for c in session.scalars(select(OtpChallenge)))


def test_codes_are_rate_limited_and_login_is_json_only(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    """A cross-site form can neither text codes nor sign a browser in (JSON only, as the staff login);
    a second code within the minute is refused with the wait."""
    world = build_world(session)
    phone = world.resident_a.phone or ""
    client.app.state.sms = MemorySender()  # type: ignore[attr-defined]
    assert client.post("/api/portal/login/code", data={"phone": phone}).status_code == 422
    form = {"phone": phone, "code": "123456", "id_number": world.resident_a.id_number}
    assert client.post("/api/portal/session", data=form).status_code == 422
    assert client.post("/api/portal/login/code", json={"phone": phone}).status_code == 200
    again = client.post("/api/portal/login/code", json={"phone": phone})
    assert again.status_code == 429 and "秒后再获取验证码" in message(again.json())
    bad = client.post("/api/portal/login/code", json={"phone": "12345"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "phone"


def test_wrong_codes_exhaust_the_challenge(client: TestClient, session: Session) -> None:
    world = build_world(session)
    phone = world.resident_a.phone or ""
    sender = MemorySender()
    client.app.state.sms = sender  # type: ignore[attr-defined]
    client.post("/api/portal/login/code", json={"phone": phone})
    code = re.search(r"(\d{6})", sender.outbox[-1][1]).group(1)  # type: ignore[union-attr]
    body = {"phone": phone, "id_number": world.resident_a.id_number}
    for _ in range(5):
        wrong = "999999" if code != "999999" else "111111"
        assert client.post("/api/portal/session", json={**body, "code": wrong}).status_code == 401
    # The right code no longer works after five failures.
    assert client.post("/api/portal/session", json={**body, "code": code}).status_code == 401


def as_resident(client: TestClient, session: Session, world: World) -> None:
    status, _ = portal_login(client, world.resident_a.phone or "", world.resident_a.id_number)
    assert status == 200


def test_own_record_and_wards_only(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    child = create_resident(session, grid=world.grid_a, name="张小明", born=date(2016, 3, 2), sex="M")
    as_resident(client, session, world)
    # Another resident's record, by id in the URL: not found, not forbidden (nothing is confirmed).
    for kind in ("visits", "reports", "prescriptions", "referrals"):
        assert client.get(f"/api/portal/record/{kind}?person={world.resident_b.id}").status_code == 404
    assert client.get(f"/api/portal/record/visits?person={child.id}").status_code == 404
    assert client.get(f"/api/portal/card?person={child.id}").status_code == 404
    # The clinic registers the guardianship; the parent then sees the child's record and card.
    doctor = bearer(session, world.family_doctor_a)
    linked = client.post(
        f"/api/residents/{child.id}/guardians",
        json={"guardian_resident_id": world.resident_a.id, "relation": "父母", "since": "2016-03-02"},
        headers=doctor,
    )
    assert linked.status_code == 201, linked.text
    visits = client.get(f"/api/portal/record/visits?person={child.id}")
    assert visits.status_code == 200 and visits.json()["total"] == 0
    family = client.get("/api/portal/family").json()
    assert [(p["name"], p["relation"]) for p in family["people"]] == [
        (world.resident_a.name, "本人"),
        ("张小明", "子女"),  # the account is registered as the child's parent
    ]
    assert family["people"][1]["age"] == 10 and "*" in family["people"][1]["masked_id_number"]
    card = client.get(f"/api/portal/card?person={child.id}").json()
    assert card["person"]["name"] == "张小明" and card["person"]["relation"] == "子女"
    # A resident cannot register guardianship themselves.
    me = session.scalar(select(User).where(User.resident_id == world.resident_a.id))
    assert me is not None
    refused = client.post(
        f"/api/residents/{world.resident_b.id}/guardians",
        json={"guardian_resident_id": world.resident_a.id, "relation": "子女", "since": "2020-01-01"},
        headers=bearer(session, me),
    )
    assert refused.status_code == 403


def test_who_looked_at_my_record(
    client: TestClient, session: Session, clock: FixedClock, audit: AuditWriter
) -> None:
    world = build_world(session)
    assert (
        client.get(
            f"/api/residents/{world.resident_a.id}", headers=bearer(session, world.family_doctor_a)
        ).status_code
        == 200
    )
    drain_audit(audit, session)
    as_resident(client, session, world)
    assert client.get("/api/portal/record/visits").status_code == 200
    drain_audit(audit, session)
    page = client.get("/api/portal/access?limit=5").json()
    assert page["limit"] == 5 and page["total"] >= 1
    rows = page["items"]
    # Others' reads only: the resident's own (every page opened) would bury them.
    assert all(r["who"] != "本人" for r in rows), rows
    viewer = rows[0]
    assert viewer["institution"] == "崇兴镇卫生院" and viewer["role"] == roles.FAMILY_DOCTOR
    # In words: what was looked at, never the table's name.
    assert viewer["what"] == "个人基本信息" and viewer["action"] == "查看"


def test_health_card_scanned_by_staff_who_may_see_and_revoked(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    resident_user = create_user(session, role=roles.RESIDENT, resident_id=world.resident_a.id)
    card = client.get("/api/health-card", headers=bearer(session, resident_user)).json()
    assert card["version"] == 1 and card["payload"].startswith("YLHC1.")
    desk = bearer(session, world.family_doctor_a)
    scanned = client.post(
        "/api/health-card/scan", json={"payload": card["payload"], "purpose": "registration"}, headers=desk
    )
    assert scanned.status_code == 200 and scanned.json()["id"] == world.resident_a.id
    # A doctor of another township: the card is genuine but the resident is not theirs.
    other = bearer(session, create_user(session, role=roles.DOCTOR, institution_id=world.township_b.id))
    assert (
        client.post(
            "/api/health-card/scan", json={"payload": card["payload"], "purpose": "exam"}, headers=other
        ).status_code
        == 404
    )
    forged = card["payload"].replace(world.resident_a.health_card_no, world.resident_b.health_card_no)
    bad = client.post(
        "/api/health-card/scan", json={"payload": forged, "purpose": "registration"}, headers=desk
    )
    assert bad.status_code == 400 and "无效" in bad.json()["error"]["message_zh"]
    # Lost phone: the resident revokes; the old code is refused, a new one works.
    revoked = client.post(
        f"/api/residents/{world.resident_a.id}/health-card/revoke",
        json={"reason": "手机丢失"},
        headers=bearer(session, resident_user),
    )
    assert revoked.status_code == 200
    old = client.post(
        "/api/health-card/scan", json={"payload": card["payload"], "purpose": "payment"}, headers=desk
    )
    assert old.status_code == 410
    renewed = client.get("/api/health-card", headers=bearer(session, resident_user)).json()
    assert renewed["version"] == 2
    assert (
        client.post(
            "/api/health-card/scan", json={"payload": renewed["payload"], "purpose": "payment"}, headers=desk
        ).status_code
        == 200
    )
    # A resident cannot scan.
    assert (
        client.post(
            "/api/health-card/scan",
            json={"payload": renewed["payload"], "purpose": "payment"},
            headers=bearer(session, resident_user),
        ).status_code
        == 403
    )


def test_the_registration_desk_scans_a_card_through_the_api(client: TestClient, session: Session) -> None:
    """The desk's scan (the residents screen's 扫健康卡, which replaced the page's form): a genuine,
    live card opens its resident; a forged one is refused with a message in Chinese."""
    world = build_world(session)
    resident_user = create_user(session, role=roles.RESIDENT, resident_id=world.resident_a.id)
    payload = client.get("/api/health-card", headers=bearer(session, resident_user)).json()["payload"]
    staff_login(client, world.family_doctor_a.username, PASSWORD)
    csrf = {"X-CSRF-Token": client.get("/api/auth/session").json()["csrf_token"]}
    scanned = client.post(
        "/api/health-card/scan", json={"payload": payload, "purpose": "registration"}, headers=csrf
    )
    assert scanned.status_code == 200 and scanned.json()["id"] == world.resident_a.id
    forged = client.post(
        "/api/health-card/scan", json={"payload": payload[:-3] + "abc", "purpose": "payment"}, headers=csrf
    )
    assert forged.status_code == 400 and "无效" in forged.json()["error"]["message_zh"]
    assert client.post("/health-card/scan", data={"payload": payload}).status_code in (404, 405)


def test_a_staff_session_is_not_the_portal(client: TestClient, session: Session) -> None:
    world = build_world(session)
    staff_login(client, world.doctor.username, PASSWORD)
    assert client.get("/api/portal/card").status_code == 403
    assert client.get("/api/portal/hospitals").status_code == 403


def test_the_resident_revokes_their_own_or_a_wards_card_only(client: TestClient, session: Session) -> None:
    """The old form route's rule (/portal/card/revoke), now through the JSON API with the CSRF header."""
    world = build_world(session)
    child = create_resident(session, grid=world.grid_a, name="张小明", born=date(2016, 3, 2), sex="M")
    client.post(
        f"/api/residents/{child.id}/guardians",
        json={"guardian_resident_id": world.resident_a.id, "relation": "父母", "since": "2016-03-02"},
        headers=bearer(session, world.family_doctor_a),
    )
    as_resident(client, session, world)
    before = client.get("/api/portal/card").json()["version"]
    token = client.headers.pop("X-CSRF-Token")
    body = {"reason": "居民挂失（手机端）"}
    assert (
        client.post(f"/api/residents/{world.resident_a.id}/health-card/revoke", json=body).status_code == 403
    )
    client.headers["X-CSRF-Token"] = token
    assert (
        client.post(f"/api/residents/{world.resident_a.id}/health-card/revoke", json=body).status_code == 200
    )
    assert client.get("/api/portal/card").json()["version"] == before + 1
    assert client.post(f"/api/residents/{child.id}/health-card/revoke", json=body).status_code == 200
    stranger = client.post(f"/api/residents/{world.resident_b.id}/health-card/revoke", json=body)
    assert stranger.status_code == 404


def test_booking_by_hospital_department_day_and_time(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    """Every department with a clinic is offered (also one booked out), each day with its places left,
    a day's slots only that day's public ones; booked, the booking leads my bookings and is cancelled."""
    from tests.factories.scheduling import publish

    world = build_world(session)
    cardiology = Department(institution_id=world.hospital.id, code="0301", name="心血管内科")
    paediatrics = Department(institution_id=world.hospital.id, code="0701", name="儿科")
    session.add_all([cardiology, paediatrics])
    session.flush()
    admin, _ = publish(client, session, world, day="2026-11-26", count=5)  # no department: not offered
    for department, day, count in ((cardiology, "2026-11-26", 5), (cardiology, "2026-11-27", 10)):
        schedule = client.post(
            "/api/schedules",
            json={
                "institution_id": world.hospital.id,
                "department_id": department.id,
                "kind": "clinic",
                "name": f"{department.name}专家门诊",
            },
            headers=admin,
        ).json()
        published = client.post(
            f"/api/schedules/{schedule['id']}/sessions",
            json={"day": day, "start": "08:00", "minutes": 10, "count": count},
            headers=admin,
        )
        assert published.status_code == 201, published.text
    client.post(
        "/api/schedules",
        json={
            "institution_id": world.hospital.id,
            "department_id": paediatrics.id,
            "kind": "clinic",
            "name": "儿科",
        },
        headers=admin,
    )
    as_resident(client, session, world)

    hospitals = client.get("/api/portal/hospitals").json()
    assert [(h["name"], h["places"]) for h in hospitals] == [
        ("灵武市人民医院", 4 + 8)
    ]  # the schedule without a department is not offered
    departments = client.get(f"/api/portal/hospitals/{world.hospital.id}/departments").json()
    assert [(d["name"], d["places"]) for d in departments] == [("儿科", 0), ("心血管内科", 12)]
    days = client.get(f"/api/portal/hospitals/{world.hospital.id}/departments/{cardiology.id}/days").json()
    assert days["window_days"] == 14  # 66 years old: the green channel books two weeks ahead
    assert {d["day"]: d["places"] for d in days["days"] if d["places"]} == {"2026-11-26": 4, "2026-11-27": 8}
    slots = client.get(
        f"/api/portal/hospitals/{world.hospital.id}/departments/{cardiology.id}/slots?day=2026-11-27"
    ).json()
    assert len(slots) == 8 and all(s["starts_at"].startswith("2026-11-27") for s in slots)
    assert slots[0]["clinic"] == "心血管内科专家门诊"

    booked = client.post(
        "/api/bookings", json={"slot_id": slots[3]["id"], "resident_id": world.resident_a.id}
    )
    assert booked.status_code == 201, booked.text
    clock.at = datetime(2026, 11, 26, 12, 0)  # the morning of the 26th has passed
    as_resident(client, session, world)  # the session has timed out since
    earlier = client.get(
        f"/api/portal/hospitals/{world.hospital.id}/departments/{cardiology.id}/slots?day=2026-11-26"
    ).json()
    assert earlier == []
    mine = client.get("/api/portal/bookings").json()
    assert mine["upcoming"] == 1 and mine["items"][0]["id"] == booked.json()["id"]
    top = mine["items"][0]
    assert top["upcoming"] and top["department"] == "心血管内科" and top["institution"] == "灵武市人民医院"
    slip = client.get(f"/api/portal/bookings/{top['id']}").json()
    assert slip["starts_at"] == top["starts_at"] and slip["person"] == world.resident_a.name
    assert client.post(f"/api/bookings/{top['id']}/cancel").status_code == 200
    after = client.get("/api/portal/bookings").json()
    assert after["upcoming"] == 0 and after["items"][0]["status_label"] == "已取消"

    # Someone else's booking slip does not exist for this account.
    other = create_user(session, role=roles.RESIDENT, resident_id=world.resident_b.id)
    theirs = client.post(
        "/api/bookings",
        json={"slot_id": slots[5]["id"], "resident_id": world.resident_b.id},
        headers=bearer(session, other),
    )
    assert theirs.status_code == 201, theirs.text
    assert client.get(f"/api/portal/bookings/{theirs.json()['id']}").status_code == 404


def test_my_bookings_list_upcoming_first_then_the_past(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    from tests.factories.scheduling import publish

    world = build_world(session)
    _, first = publish(client, session, world, day="2026-11-25", count=5)
    _, second = publish(client, session, world, day="2026-11-30", count=5)
    _, third = publish(client, session, world, day="2026-12-02", count=5)
    as_resident(client, session, world)
    ids = []
    for slots in (first, second, third):
        public = next(s for s in slots if s["pool"] == "public")
        answer = client.post(
            "/api/bookings", json={"slot_id": public["id"], "resident_id": world.resident_a.id}
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    clock.at = datetime(2026, 11, 26, 9, 0)  # the 25th has passed
    as_resident(client, session, world)
    page = client.get("/api/portal/bookings?limit=2").json()
    assert (page["total"], page["upcoming"]) == (3, 2)
    assert [b["id"] for b in page["items"]] == [ids[1], ids[2]]  # soonest upcoming first
    rest = client.get("/api/portal/bookings?offset=2&limit=2").json()
    assert [b["id"] for b in rest["items"]] == [ids[0]] and not rest["items"][0]["upcoming"]


def test_old_portal_bookmarks_lead_to_the_phone_pages(client: TestClient) -> None:
    for old, new in (
        ("/portal", "/m/"),
        ("/portal/record?person=7", "/m/record?person=7"),
        ("/portal/booking", "/m/booking"),
        ("/portal/access", "/m/access"),
        ("/portal/login", "/m/login"),
        ("/portal/card", "/m/"),
    ):
        answer = client.get(old, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (301, new), old


def test_the_record_reads_in_words_page_by_page(client: TestClient, session: Session) -> None:
    """Visits, prescriptions and referrals as a resident reads them: names, not ICD codes or statuses."""
    from tests.factories.encounters import create_encounter
    from tests.factories.family_doctor import create_drug
    from yilian.models import Prescription, PrescriptionItem

    world = build_world(session)
    for n in range(13):
        create_encounter(
            session,
            resident=world.resident_a,
            institution=world.township_a,
            on=date(2026, 1, 1 + n),
            diagnoses=("I10.x00",),
            total_fen=12345,
            fund_fen=6000,
        )
    drug = create_drug(session, world)
    prescription = Prescription(
        resident_id=world.resident_a.id,
        institution_id=world.township_a.id,
        prescribed_on=date(2026, 2, 1),
        days=28,
        is_long=True,
        diagnosis="I10.x00",
    )
    session.add(prescription)
    session.flush()
    session.add(PrescriptionItem(prescription_id=prescription.id, drug_id=drug.id, daily_dose=1, quantity=1))
    create_referral(
        session,
        resident_id=world.resident_a.id,
        from_institution_id=world.township_a.id,
        to_institution_id=world.hospital.id,
        status="requested",
        diagnoses="I10.x00,I63.900",
        summary="血压控制不佳",
        requested_at=datetime(2026, 2, 2, 9, 0),
    )
    as_resident(client, session, world)

    first = client.get("/api/portal/record/visits?limit=10").json()
    rest = client.get("/api/portal/record/visits?offset=10&limit=10").json()
    assert (first["total"], len(first["items"]), len(rest["items"])) == (13, 10, 3)
    visit = first["items"][0]
    assert visit["day"] == "2026-01-13" and visit["kind"] == "门诊" and visit["diagnoses"] == ["高血压"]
    assert (visit["total_yuan"], visit["fund_yuan"], visit["institution"]) == (
        "123.45",
        "60.00",
        "崇兴镇卫生院",
    )
    [rx] = client.get("/api/portal/record/prescriptions").json()["items"]
    assert rx["diagnosis"] == "高血压" and rx["long_term"] and rx["days"] == 28
    assert rx["drugs"] == [
        {"name": "苯磺酸氨氯地平片", "specification": "5mg×28片", "usage": "每日1盒", "quantity": "1盒"}
    ]
    [referral] = client.get("/api/portal/record/referrals").json()["items"]
    assert referral["status"] == "申请" and referral["direction"].startswith("上转")
    assert referral["diagnoses"] == ["高血压", "脑梗死"] and referral["to_institution"] == "灵武市人民医院"
    assert client.get("/api/portal/record/reports").json() == {
        "total": 0,
        "offset": 0,
        "limit": 10,
        "items": [],
    }
    everything = "".join(
        client.get(f"/api/portal/record/{kind}").text for kind in ("visits", "prescriptions", "referrals")
    )
    assert "I10" not in everything, everything[everything.find("I10") - 200 : everything.find("I10") + 50]
    assert '"requested"' not in everything
    assert client.get("/api/portal/record/visits?limit=51").status_code == 422
