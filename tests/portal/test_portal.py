"""The residents' portal end to end: phone-code login bound to the ID number, own record and wards
only, who looked at my record, the health card scanned and revoked, booking a public slot."""

from __future__ import annotations

import re
from datetime import date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login as staff_login
from tests.conftest import drain_audit
from tests.factories.auth import PASSWORD, bearer, create_user
from tests.factories.residents import create_resident
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.kit.audit import AuditWriter
from yilian.kit.clock import FixedClock
from yilian.models import OtpChallenge, User
from yilian.portal.sms import MemorySender


def portal_login(
    client: TestClient, phone: str, id_number: str, *, code: str | None = None
) -> tuple[int, str]:
    """Ask for a code, read it from the memory sender, log in; (status, page)."""
    sender = MemorySender()
    client.app.state.sms = sender  # type: ignore[attr-defined]
    page = client.get("/portal/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    sent = client.post("/portal/login/code", data={"csrf": token, "phone": phone})
    assert sent.status_code == 200, sent.text
    received = re.search(r"验证码为(\d{6})", sender.outbox[-1][1]).group(1)  # type: ignore[union-attr]
    done = client.post(
        "/portal/login",
        data={"csrf": token, "phone": phone, "code": code or received, "id_number": id_number},
        follow_redirects=False,
    )
    return done.status_code, done.text


def test_phone_code_login_binds_to_the_id_number(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    phone = world.resident_a.phone or ""
    stranger = create_resident(session, grid=world.grid_b, phone="13800000000")
    status, page = portal_login(client, phone, stranger.id_number)
    assert status == 401 and "身份证号与该手机号登记的居民不符" in page
    clock.advance(minutes=2)
    status, page = portal_login(client, phone, world.resident_a.id_number, code="000000")
    assert status == 401 and "验证码错误" in page
    clock.advance(minutes=2)
    status, _ = portal_login(client, phone, world.resident_a.id_number)
    assert status == 303
    home = client.get("/portal")
    assert home.status_code == 200 and world.resident_a.name in home.text
    assert 'data-testid="health-card"' in home.text and "<svg" in home.text
    user = session.scalar(
        select(User).where(User.resident_id == world.resident_a.id, User.role == roles.RESIDENT)
    )
    assert user is not None
    # Codes are stored hashed, never in clear.
    assert all(len(c.code_hash) == 64 for c in session.scalars(select(OtpChallenge)))


def test_wrong_codes_exhaust_the_challenge(client: TestClient, session: Session) -> None:
    world = build_world(session)
    phone = world.resident_a.phone or ""
    sender = MemorySender()
    client.app.state.sms = sender  # type: ignore[attr-defined]
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/portal/login").text).group(1)  # type: ignore[union-attr]
    client.post("/portal/login/code", data={"csrf": token, "phone": phone})
    code = re.search(r"(\d{6})", sender.outbox[-1][1]).group(1)  # type: ignore[union-attr]
    body = {"csrf": token, "phone": phone, "id_number": world.resident_a.id_number}
    for _ in range(5):
        assert (
            client.post(
                "/portal/login", data={**body, "code": "999999" if code != "999999" else "111111"}
            ).status_code
            == 401
        )
    # The right code no longer works after five failures.
    assert (
        client.post("/portal/login", data={**body, "code": code}, follow_redirects=False).status_code == 401
    )


def as_resident(client: TestClient, session: Session, world: World) -> None:
    status, _ = portal_login(client, world.resident_a.phone or "", world.resident_a.id_number)
    assert status == 303


def test_own_record_and_wards_only(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    child = create_resident(session, grid=world.grid_a, name="张小明", born=date(2016, 3, 2), sex="M")
    as_resident(client, session, world)
    # Another resident's record, by id in the URL: not found, not forbidden (nothing is confirmed).
    assert client.get(f"/portal/record?person={world.resident_b.id}").status_code == 404
    assert client.get(f"/portal/record?person={child.id}").status_code == 404
    # The clinic registers the guardianship; the parent then sees the child's record.
    doctor = bearer(session, world.family_doctor_a)
    linked = client.post(
        f"/api/residents/{child.id}/guardians",
        json={"guardian_resident_id": world.resident_a.id, "relation": "父母", "since": "2016-03-02"},
        headers=doctor,
    )
    assert linked.status_code == 201, linked.text
    page = client.get(f"/portal/record?person={child.id}")
    assert page.status_code == 200 and "张小明的健康档案" in page.text
    assert "张小明（父母）" in client.get("/portal").text
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
    page = client.get("/portal/access").text
    rows = re.findall(r'data-testid="access">(.*?)</div>', page)
    assert any(world.family_doctor_a.username in r or "家庭医生" in r for r in rows), rows
    assert any("崇兴镇卫生院" in r for r in rows)


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


def test_staff_pages_are_not_the_portal(client: TestClient, session: Session) -> None:
    world = build_world(session)
    staff_login(client, world.doctor.username, PASSWORD)
    assert client.get("/portal").status_code == 403


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


def test_booking_page_opens_on_the_next_day_with_places(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    """On a Friday the next clinic day is Monday: the page opens there, not on an empty Saturday."""
    from tests.scheduling.test_api import publish

    world = build_world(session)
    clock.at = datetime(2026, 11, 27, 9, 30)  # a Friday
    _, slots = publish(client, session, world, day="2026-11-30", count=5)  # Monday
    public = [s for s in slots if s["pool"] == "public"]
    as_resident(client, session, world)
    page = client.get("/portal/booking")
    assert page.status_code == 200
    assert 'name="day" value="2026-11-30"' in page.text
    assert re.findall(r'data-testid="slot-(\d+)"', page.text) == [str(s["id"]) for s in public]
    # A day asked for is shown as asked, empty or not.
    saturday = client.get("/portal/booking?day=2026-11-28")
    assert 'name="day" value="2026-11-28"' in saturday.text and 'data-testid="slot-' not in saturday.text
