"""Pages: a family doctor books a reserved slot for a patient; the county accepts an incoming referral."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.factories.auth import PASSWORD, bearer, create_user
from tests.factories.world import build_world
from tests.scheduling.test_api import publish
from yilian.auth import rules as roles
from yilian.models import Booking, Referral


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_booking_page_shows_pools_apart_and_books_once(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world, day="2026-11-26")
    login(client, world.family_doctor_a.username, PASSWORD)
    page = client.get(
        "/booking",
        params={
            "resident_id": world.resident_a.id,
            "schedule_id": slots[0]["schedule_id"],
            "day": "2026-11-26",
        },
    ).text
    reserved_part = page.split('data-testid="reserved-pool"')[1].split('data-testid="public-pool"')[0]
    assert "基层预留号源（本机构可用）（2）" in page and reserved_part.count("<tr>") == 3
    assert "65岁以上老年人：绿色通道" in page  # 张桂兰 was born in 1960
    reserved = next(s for s in slots if s["pool"] == "reserved")
    key = re.search(r'name="key" value="([^"]+)-' + str(reserved["id"]) + '"', page).group(1)  # type: ignore[union-attr]
    form = {
        "csrf": csrf_of(page),
        "resident_id": world.resident_a.id,
        "slot_id": reserved["id"],
        "schedule_id": reserved["schedule_id"],
        "day": "2026-11-26",
        "key": f"{key}-{reserved['id']}",
    }
    first = client.post("/booking", data=form, follow_redirects=False)
    second = client.post("/booking", data=form, follow_redirects=False)  # a double click
    assert first.status_code == second.status_code == 303
    assert session.scalar(select(func.count()).select_from(Booking)) == 1


def test_incoming_referral_page_accepts(client: TestClient, session: Session) -> None:
    world = build_world(session)
    body = {
        "direction": "up",
        "resident_id": world.resident_a.id,
        "to_institution_id": world.hospital.id,
        "diagnoses": ["I10.x00"],
        "summary": "血压控制不佳",
    }
    referral = client.post("/api/referrals", json=body, headers=bearer(session, world.family_doctor_a)).json()
    doctor = create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    login(client, doctor.username, PASSWORD)
    page = client.get("/referrals").text
    assert "张桂兰" in page and "高血压（I10.x00）" in page and ">接收<" in page
    done = client.post(
        f"/referrals/{referral['id']}/transition",
        data={"csrf": csrf_of(page), "status": "accepted"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert session.scalar(select(Referral.status).where(Referral.id == referral["id"])) == "accepted"
    history = client.get(f"/api/residents/{world.resident_a.id}/referrals").json()
    assert [r["status"] for r in history] == ["accepted"]
