"""Contracts through the API: sign, overlap, renew, change team, terminate, expire; packages; fees."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.family_doctor import create_contract, create_package, create_team
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.kit.clock import FixedClock
from yilian.models import ChronicVisit, Contract, FeeRule, ServicePackage, User


def doctor_of(session: Session, world: World, staff_id: int) -> User:
    user = world.family_doctor_a
    user.staff_id = staff_id
    session.flush()
    return user


def bearer_on(session: Session, user: User, clock: FixedClock) -> dict[str, str]:
    """A token issued on the clock's day, for tests that move the clock past a 90-day token."""
    from yilian.auth.service import do_create_api_token

    return {"Authorization": f"Bearer {do_create_api_token(session, user=user, name='t', now=clock.now())}"}


def test_sign_then_overlap_is_refused(client: TestClient, session: Session) -> None:
    world = build_world(session)
    team, members = create_team(session, world)
    package = create_package(session, world)
    headers = bearer(session, doctor_of(session, world, members["全科医生"]))
    body = {"resident_id": world.resident_a.id, "team_id": team.id, "package_id": package.id}
    first = client.post("/api/contracts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    signed = first.json()
    assert (signed["start_on"], signed["end_on"], signed["fee"], signed["status"]) == (
        "2026-11-24",
        "2027-11-23",
        "120.00",
        "active",
    )
    again = client.post("/api/contracts", json=body, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["fields"][0]["field"] == "resident_id"
    assert session.scalar(select(func.count()).select_from(Contract)) == 1


def test_flexible_period_renew_change_terminate_keep_history(client: TestClient, session: Session) -> None:
    world = build_world(session)
    team, members = create_team(session, world)
    other_team, _ = create_team(session, world)
    package = create_package(session, world)
    headers = bearer(session, doctor_of(session, world, members["全科医生"]))
    six = client.post(
        "/api/contracts",
        json={"resident_id": world.resident_a.id, "team_id": team.id, "package_id": package.id, "months": 6},
        headers=headers,
    ).json()
    assert six["end_on"] == "2027-05-23"
    renewed = client.post(f"/api/contracts/{six['id']}/renew", json={"months": 12}, headers=headers).json()
    assert (renewed["start_on"], renewed["end_on"], renewed["previous_contract_id"]) == (
        "2027-05-24",
        "2028-05-23",
        six["id"],
    )
    moved = client.post(
        f"/api/contracts/{renewed['id']}/change-team",
        json={"team_id": other_team.id, "reason": "搬迁至其他网格"},
        headers=headers,
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["end_on"] == "2028-05-23" and moved.json()["fee"] == "0.00"
    ended = client.post(
        f"/api/contracts/{moved.json()['id']}/terminate", json={"reason": "本人申请解约"}, headers=headers
    ).json()
    assert ended["status"] == "terminated" and ended["ended_on"] == "2026-11-24"
    statuses = [
        c["status"]
        for c in client.get(f"/api/residents/{world.resident_a.id}/contracts", headers=headers).json()
    ]
    assert sorted(statuses) == ["changed", "renewed", "terminated"]


def test_a_lapsed_contract_lapses_by_itself_and_the_resident_signs_with_another_team(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    """Signed 2026-11-24 for 6 months (to 2027-05-23); nobody runs a job. On 2027-06-01 the contract
    shows expired, the resident is no longer signed, and signing with another team is accepted."""
    world = build_world(session)
    team, members = create_team(session, world)
    other_team, _ = create_team(session, world)
    package = create_package(session, world)
    headers = bearer(session, doctor_of(session, world, members["全科医生"]))
    body = {"resident_id": world.resident_a.id, "team_id": team.id, "package_id": package.id, "months": 6}
    first = client.post("/api/contracts", json=body, headers=headers).json()
    assert (first["start_on"], first["end_on"]) == ("2026-11-24", "2027-05-23")
    assert client.get(f"/api/residents/{world.resident_a.id}", headers=headers).json()["signed"] is True

    clock.advance(days=189)  # 2027-06-01
    headers = bearer_on(session, doctor_of(session, world, members["全科医生"]), clock)
    history = client.get(f"/api/residents/{world.resident_a.id}/contracts", headers=headers).json()
    assert [(c["status"], c["ended_on"]) for c in history] == [("expired", "2027-05-23")]
    assert client.get(f"/api/residents/{world.resident_a.id}", headers=headers).json()["signed"] is False
    (expired,) = client.get(f"/api/residents/{world.resident_a.id}/contracts", headers=headers).json()
    assert expired["status"] == "expired"
    refused = client.post(f"/api/contracts/{first['id']}/terminate", json={"reason": "解约"}, headers=headers)
    assert (
        refused.status_code == 422 and "2027-05-23到期" in refused.json()["error"]["fields"][0]["message_zh"]
    )

    again = client.post("/api/contracts", json={**body, "team_id": other_team.id}, headers=headers)
    assert again.status_code == 201, again.text
    assert (again.json()["start_on"], again.json()["end_on"]) == ("2027-06-01", "2027-11-30")
    assert client.get(f"/api/residents/{world.resident_a.id}", headers=headers).json()["signed"] is True
    statuses = dict(session.execute(select(Contract.id, Contract.status)).all())
    assert statuses == {first["id"]: "expired", again.json()["id"]: "active"}


def test_signed_figures_on_any_day(client: TestClient, session: Session, clock: FixedClock) -> None:
    """Signed 2026-11-24 to 2027-05-23, moved to another team on 2027-01-10 (the new contract keeps the
    period). The figures count the resident as signed on every day from 2026-11-24 to 2027-05-23 —
    also before the change, when the first contract served — and not from 2027-05-24."""
    world = build_world(session)
    team, members = create_team(session, world)
    other_team, _ = create_team(session, world)
    package = create_package(session, world)
    headers = bearer(session, doctor_of(session, world, members["全科医生"]))
    body = {"resident_id": world.resident_a.id, "team_id": team.id, "package_id": package.id, "months": 6}
    first = client.post("/api/contracts", json=body, headers=headers).json()
    clock.advance(days=47)  # 2027-01-10
    headers = bearer_on(session, doctor_of(session, world, members["全科医生"]), clock)
    moved = client.post(
        f"/api/contracts/{first['id']}/change-team",
        json={"team_id": other_team.id, "reason": "搬迁"},
        headers=headers,
    )
    assert moved.status_code == 201 and moved.json()["end_on"] == "2027-05-23"
    admin = bearer_on(session, world.commission, clock)

    def signed(day: str) -> int:
        figures = client.get("/api/chronic/figures", params={"as_of": day}, headers=admin).json()
        return int(figures["signed"])

    assert [signed(d) for d in ("2026-11-23", "2026-11-24", "2026-12-31", "2027-05-23", "2027-05-24")] == [
        0,
        1,
        1,
        1,
        0,
    ]


def test_dead_resident_cannot_sign(client: TestClient, session: Session) -> None:
    world = build_world(session)
    team, members = create_team(session, world)
    package = create_package(session, world)
    world.resident_a.status = "deceased"
    session.flush()
    response = client.post(
        "/api/contracts",
        json={"resident_id": world.resident_a.id, "team_id": team.id, "package_id": package.id},
        headers=bearer(session, doctor_of(session, world, members["全科医生"])),
    )
    assert response.status_code == 422 and "注销" in response.json()["error"]["fields"][0]["message_zh"]


def test_package_shares_over_100_percent_are_refused(client: TestClient, session: Session) -> None:
    world = build_world(session)
    body = {
        "code": "GXY",
        "name": "高血压包",
        "category": "高血压",
        "price": "120.00",
        "insurance_share": "70",
        "public_share": "40",
        "valid_from": "2026-01-01",
    }
    response = client.post("/api/packages", json=body, headers=bearer(session, world.consortium_admin))
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == "insurance_share"
    assert session.scalar(select(func.count()).select_from(ServicePackage)) == 0


def test_packages_round_trip_through_excel_and_a_bad_row_saves_nothing(
    client: TestClient, session: Session
) -> None:
    from yilian.family_doctor.packages import PACKAGE_COLUMNS
    from yilian.kit.tabular import write_xlsx

    world = build_world(session)
    headers = bearer(session, world.consortium_admin)
    good = ["GXY", "高血压包", "高血压", "季度随访", "120.00", "40", "30", "2026-01-01", ""]
    bad = ["TNB", "糖尿病包", "糖尿病", "季度随访", "150.00", "80", "30", "2026-01-01", ""]
    rejected = client.post(
        "/api/packages/import",
        files={"file": ("p.xlsx", write_xlsx(PACKAGE_COLUMNS, [good, bad]))},
        headers=headers,
    )
    assert rejected.status_code == 422 and rejected.json()["error"]["fields"][0]["row"] == 3
    assert session.scalar(select(func.count()).select_from(ServicePackage)) == 0
    accepted = client.post(
        "/api/packages/import",
        files={"file": ("p.xlsx", write_xlsx(PACKAGE_COLUMNS, [good]))},
        headers=headers,
    )
    assert accepted.json() == {"saved": 1}
    listed = client.get("/api/packages", headers=headers).json()
    assert [(p["code"], p["price"], p["resident_pays"]) for p in listed] == [("GXY", "120.00", "36.00")]
    exported = client.get("/api/packages/export", headers=headers)
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None and [c.value for c in sheet[2]][:5] == [
        "GXY",
        "高血压包",
        "高血压",
        "季度随访",
        "120.00",
    ]
    # The export is the list the screen's filters select, not the whole catalogue.
    filtered = client.get("/api/packages/export", params={"q": "糖尿病"}, headers=headers)
    rows = list(openpyxl.load_workbook(io.BytesIO(filtered.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[1:] == []
    by_name = client.get("/api/packages/export", params={"q": "高血压"}, headers=headers)
    rows = list(openpyxl.load_workbook(io.BytesIO(by_name.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert [r[0] for r in rows[1:]] == ["GXY"]


def test_fee_rule_below_floor_is_refused_and_nothing_saved(client: TestClient, session: Session) -> None:
    world = build_world(session)
    body = {"team_share": "65", "role_weights": {"全科医生": 4, "村医": 3}}
    response = client.put("/api/fee-rule", json=body, headers=bearer(session, world.consortium_admin))
    assert response.status_code == 422 and "70%" in response.json()["error"]["fields"][0]["message_zh"]
    assert session.scalar(select(func.count()).select_from(FeeRule)) == 0


def test_fee_distribution_by_hand(client: TestClient, session: Session) -> None:
    from datetime import datetime

    world = build_world(session)
    team, members = create_team(session, world)
    package = create_package(session, world, price_fen=10_000)
    headers = bearer(session, world.consortium_admin)
    rule = {
        "team_share": "80",
        "role_weights": {"全科医生": 4, "村医": 3, "专科医生": 2, "健康管理师": 1},
        "base": "0.5",
        "work": "0.5",
        "quality": "0",
    }
    assert client.put("/api/fee-rule", json=rule, headers=headers).status_code == 200
    for resident in (world.resident_a, world.resident_b):
        create_contract(
            session,
            world,
            resident=resident,
            team=team,
            package=package,
            start=date(2026, 3, 1),
            end=date(2027, 2, 28),
            fee_fen=10_000,
        )
    for n, staff in enumerate([members["全科医生"]] * 1 + [members["村医"]] * 2):
        session.add(
            ChronicVisit(
                resident_id=world.resident_a.id,
                kind="follow_up",
                visited_on=date(2026, 4, 1 + n),
                staff_id=staff,
                institution_id=world.township_a.id,
                sbp=130,
                dbp=80,
                recorded_at=datetime(2026, 4, 1),
            )
        )
    session.flush()
    result = client.get(
        "/api/fees/distribution", params={"start": "2026-01-01", "end": "2026-12-31"}, headers=headers
    ).json()
    # Fees 200.00, team 80 % = 160.00. Base 80.00 by 4:3:2:1 → 32, 24, 16, 8.
    # Work 80.00 by weight × services: GP 4×1 = 4, village 3×2 = 6 → 32.00 and 48.00.
    amounts = {r["role"]: r["amount"] for r in result["rows"]}
    assert amounts == {"全科医生": "64.00", "村医": "72.00", "专科医生": "16.00", "健康管理师": "8.00"}
    assert (result["fees"], result["team_pool"], result["institutions"]) == ("200.00", "160.00", "40.00")
    sheet = client.get(
        "/api/fees/distribution",
        params={"start": "2026-01-01", "end": "2026-12-31", "format": "xlsx"},
        headers=headers,
    )
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")


def test_fee_quality_part_rewards_patients_who_improve_and_the_payroll_keeps_fees_apart(
    client: TestClient, session: Session
) -> None:
    """Worked example (002 items 19 and 21). Two contracts of 100.00 in 2026 → fees 200.00; team 70 %
    → pool 140.00; split base 50 % / quality 50 %.
    - 张桂兰 (resident a): the village doctor's follow-ups 150/95 on 03-01, 130/80 on 06-01 → control
      gained: improved, credited to the village doctor.
    - 李建国 (resident b): the GP's follow-ups 130/80 and 135/85 (controlled both times, no change in
      control), colour yellow on 03-01 → green on 06-01: improved, credited to the GP.
    Base 70.00 by 4:3:2:1 → GP 28.00, village 21.00, specialist 14.00, manager 7.00.
    Quality 70.00 by weight × improved: GP 4×1, village 3×1 → 40.00 and 30.00.
    Totals GP 68.00, village 51.00, specialist 14.00, manager 7.00 = 140.00. (Counting controlled
    follow-ups, as before, gave GP 4×2 : village 3×1 → GP 78.91, village 40.09.)
    The payroll sheet marks the 140.00 as pay outside the performance-pay total and keeps the
    institution's 60.00 apart."""
    import io
    from datetime import datetime

    import openpyxl

    from yilian.models import RiskAssessment, RiskRuleSet

    world = build_world(session)
    team, members = create_team(session, world)
    package = create_package(session, world, price_fen=10_000)
    headers = bearer(session, world.consortium_admin)
    rule = {
        "team_share": "70",
        "role_weights": {"全科医生": 4, "村医": 3, "专科医生": 2, "健康管理师": 1},
        "base": "0.5",
        "work": "0",
        "quality": "0.5",
    }
    assert client.put("/api/fee-rule", json=rule, headers=headers).status_code == 200
    for resident in (world.resident_a, world.resident_b):
        create_contract(
            session,
            world,
            resident=resident,
            team=team,
            package=package,
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
            fee_fen=10_000,
        )
    visits = [
        (world.resident_a, members["村医"], date(2026, 3, 1), 150, 95),
        (world.resident_a, members["村医"], date(2026, 6, 1), 130, 80),
        (world.resident_b, members["全科医生"], date(2026, 3, 1), 130, 80),
        (world.resident_b, members["全科医生"], date(2026, 6, 1), 135, 85),
    ]
    for resident, staff, day, sbp, dbp in visits:
        session.add(
            ChronicVisit(
                resident_id=resident.id,
                kind="follow_up",
                disease="hypertension",
                visited_on=day,
                staff_id=staff,
                institution_id=world.township_a.id,
                sbp=sbp,
                dbp=dbp,
                recorded_at=datetime.combine(day, datetime.min.time()),
            )
        )
    rule_set = RiskRuleSet(
        code="HTN", version="1", disease="hypertension", source="002 item 14", rules_json="{}"
    )
    session.add(rule_set)
    session.flush()
    for day, colour, level in ((date(2026, 3, 1), "yellow", "medium"), (date(2026, 6, 1), "green", "low")):
        session.add(
            RiskAssessment(
                resident_id=world.resident_b.id,
                disease="hypertension",
                rule_set_id=rule_set.id,
                rule_id="r",
                level=level,
                colour=colour,
                explanation="",
                assessed_on=day,
            )
        )
    session.flush()
    period = {"start": "2026-01-01", "end": "2026-12-31"}
    result = client.get("/api/fees/distribution", params=period, headers=headers).json()
    by_role = {
        r["role"]: (r["improved_patients"], r["controlled_patients"], r["amount"]) for r in result["rows"]
    }
    assert by_role == {
        "全科医生": (1, 2, "68.00"),
        "村医": (1, 1, "51.00"),
        "专科医生": (0, 0, "14.00"),
        "健康管理师": (0, 0, "7.00"),
    }
    assert (result["fees"], result["team_pool"], result["institutions"]) == ("200.00", "140.00", "60.00")
    assert [(i["fees"], i["team_pay"], i["retained"]) for i in result["by_institution"]] == [
        ("200.00", "140.00", "60.00")
    ]

    sheet = client.get("/api/fees/distribution", params={**period, "format": "xlsx"}, headers=headers)
    book = openpyxl.load_workbook(io.BytesIO(sheet.content))
    members_sheet, institutions_sheet = book.worksheets
    header = [c.value for c in members_sheet[1]]
    assert header[-1] == "签约服务费薪酬(元，不纳入绩效工资总额（002第21条）)"
    assert [c.value for c in institutions_sheet[1]] == [
        "机构",
        "签约服务费(元)",
        "团队人员薪酬(元，不纳入绩效工资总额（002第21条）)",
        "机构留存(元)",
    ]
    assert [c.value for c in institutions_sheet[2]] == [world.township_a.name, "200.00", "140.00", "60.00"]


def test_resident_cannot_sign_contracts(client: TestClient, session: Session) -> None:
    world = build_world(session)
    team, _ = create_team(session, world)
    package = create_package(session, world)
    citizen = create_user(session, role=roles.RESIDENT, resident_id=world.resident_b.id)
    response = client.post(
        "/api/contracts",
        json={"resident_id": world.resident_b.id, "team_id": team.id, "package_id": package.id},
        headers=bearer(session, citizen),
    )
    assert response.status_code == 403


def test_fee_distribution_is_for_administrators_only(client: TestClient, session: Session) -> None:
    world = build_world(session)
    create_team(session, world)
    response = client.get(
        "/api/fees/distribution",
        params={"start": "2026-01-01", "end": "2026-12-31"},
        headers=bearer(session, world.family_doctor_a),
    )
    assert response.status_code == 403


def test_team_only_in_own_consortium(client: TestClient, session: Session) -> None:
    from tests.factories.registry import create_consortium, create_institution, create_staff

    world = build_world(session)
    other_lead = create_institution(session, name="外县医院", type="综合医院", level="二级")
    other = create_consortium(session, lead=other_lead)
    staff = [create_staff(session, institution=other_lead).id for _ in range(4)]
    body = {
        "code": "TX",
        "name": "外县团队",
        "consortium_id": other.id,
        "institution_id": other_lead.id,
        "members": [
            {"staff_id": s, "role": r}
            for s, r in zip(staff, ("村医", "全科医生", "专科医生", "健康管理师"), strict=True)
        ],
    }
    response = client.post("/api/teams", json=body, headers=bearer(session, world.consortium_admin))
    assert response.status_code == 403
    own = {
        **body,
        "consortium_id": world.consortium.id,
        "institution_id": world.township_a.id,
        "grid_ids": [world.grid_a.id],
    }
    created = client.post("/api/teams", json=own, headers=bearer(session, world.consortium_admin))
    assert created.status_code == 201, created.text
    assert sorted(m["role"] for m in created.json()["members"]) == [
        "专科医生",
        "健康管理师",
        "全科医生",
        "村医",
    ]


def test_a_team_without_a_health_manager_is_refused(client: TestClient, session: Session) -> None:
    """004 §3.3 names four roles in every team: 村医 + 全科医生 + 专科医生 + 健康管理师. Three of them
    are not a team: 422 naming the missing role, and nothing saved."""
    from tests.factories.registry import create_staff
    from yilian.models import FamilyDoctorTeam

    world = build_world(session)
    staff = [create_staff(session, institution=world.township_a).id for _ in range(3)]
    body = {
        "code": "T3",
        "name": "三人团队",
        "consortium_id": world.consortium.id,
        "institution_id": world.township_a.id,
        "grid_ids": [world.grid_a.id],
        "members": [
            {"staff_id": s, "role": r} for s, r in zip(staff, ("村医", "全科医生", "专科医生"), strict=True)
        ],
    }
    response = client.post("/api/teams", json=body, headers=bearer(session, world.consortium_admin))
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [(f["field"], f["message_zh"]) for f in fields] == [
        ("members", "团队须包含健康管理师（004 §3.3）")
    ]
    assert fields[0]["message_en"] == "the team needs a health manager (004 §3.3)"
    assert session.scalar(select(func.count()).select_from(FamilyDoctorTeam)) == 0
