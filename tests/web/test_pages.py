"""HTML pages: home with the chart data, resident search (masked), resident page (audited)."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.conftest import drain_audit
from tests.factories.auth import PASSWORD
from tests.factories.encounters import create_encounter
from tests.factories.world import build_world
from yilian.encounters.repository import refresh_visit_summary
from yilian.kit.audit import AuditWriter
from yilian.models import AuditLog


def test_home_counts_the_county(client: TestClient, session: Session) -> None:
    world = build_world(session)
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.township_a,
        on=date(2026, 10, 3),
        total_fen=5000,
        fund_fen=2500,
    )
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.hospital,
        on=date(2026, 11, 3),
        total_fen=20000,
        fund_fen=9000,
    )
    refresh_visit_summary(session, start=date(2026, 1, 1), end=date(2026, 11, 30))
    login(client, world.commission.username, PASSWORD)

    page = client.get("/").text
    assert re.search(r'data-testid="institutions">4<', page)
    assert re.search(r'data-testid="residents">2<', page)
    assert re.search(r'data-testid="visits">2<', page)
    assert '"2026-10"' in page and "echarts.init" in page


def test_search_page_masks_and_resident_page_audits(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    world = build_world(session)
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.township_a,
        on=date(2026, 9, 1),
        total_fen=8650,
        fund_fen=4758,
        diagnoses=("I10.x00",),
    )
    login(client, world.family_doctor_a.username, PASSWORD)
    drain_audit(audit, session)

    listing = client.get("/residents", params={"q": "张"}).text
    masked = world.resident_a.id_number[:6] + "********" + world.resident_a.id_number[-4:]
    assert masked in listing and world.resident_a.id_number not in listing
    record = client.get(f"/residents/{world.resident_a.id}")
    assert record.status_code == 200 and world.resident_a.id_number in record.text
    assert "高血压（I10.x00）" in record.text and "86.50" in record.text

    denied = client.get(f"/residents/{world.resident_b.id}")
    assert denied.status_code == 404 and "无权" in denied.text
    drain_audit(audit, session)
    actions = session.execute(
        select(AuditLog.action, AuditLog.endpoint)
        .where(AuditLog.resident_id == world.resident_a.id)
        .order_by(AuditLog.id)
    ).all()
    assert [a for a, _ in actions] == ["list", "read"]
    assert actions[1].endpoint == f"GET /residents/{world.resident_a.id}"
    assert not session.scalars(select(AuditLog).where(AuditLog.resident_id == world.resident_b.id)).all()


def test_registry_pages_render(client: TestClient, session: Session) -> None:
    world = build_world(session)
    login(client, world.consortium_admin.username, PASSWORD)
    consortia = client.get("/consortia")
    assert consortia.status_code == 200 and world.consortium.name in consortia.text
    assert re.search(r"<td>4</td>", consortia.text)  # lead + three members
    detail = client.get(f"/consortia/{world.consortium.id}").text
    assert "牵头" in detail and "崇兴镇台子村卫生室" in detail
    institutions = client.get("/institutions", params={"type": "乡镇卫生院"}).text
    assert "崇兴镇卫生院" in institutions and "灵武市人民医院" not in institutions
    township = client.get(f"/institutions/{world.township_a.id}").text
    assert "台子村" in township and world.consortium.name in township


def test_my_residents_and_signed_flag(client: TestClient, session: Session) -> None:

    from tests.factories.family_doctor import create_contract, create_package, create_team

    world = build_world(session)
    team, _ = create_team(session, world)
    package = create_package(session, world)
    create_contract(
        session,
        world,
        resident=world.resident_a,
        team=team,
        package=package,
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        fee_fen=0,
    )
    session.flush()
    login(client, world.family_doctor_a.username, PASSWORD)
    mine = client.get("/residents").text
    assert "我服务的居民：共 1 人" in mine and "张桂兰" in mine and "李建国" not in mine
    assert 'data-testid="signed"' in client.get(f"/residents/{world.resident_a.id}").text
