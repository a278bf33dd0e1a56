"""Teams, their members and the team a contract is signed with: outside the caller's county they do
not exist (422, in the same words as an unknown id); in it but not the caller's, 403 (decision 0022)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.family_doctor import create_package, create_team
from tests.factories.registry import create_staff
from tests.factories.world import build_far_county, build_world
from yilian.models import Contract, FamilyDoctorTeam

MISSING = 987654


def test_a_team_is_formed_of_the_callers_consortium_and_county_staff(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    far = build_far_county(session)
    staff = {
        "村医": create_staff(session, institution=world.clinic_a, practitioner_type="乡村医生").id,
        "全科医生": create_staff(session, institution=world.township_a).id,
        "专科医生": create_staff(session, institution=world.hospital).id,
        "健康管理师": create_staff(session, institution=world.township_a).id,  # 004 §3.3: every team has one
    }
    body = {
        "code": "TS",
        "name": "台子村团队",
        "consortium_id": world.consortium.id,
        "institution_id": world.township_a.id,
        "members": [{"staff_id": s, "role": r} for r, s in staff.items()],
    }
    admin = bearer(session, world.consortium_admin)
    hidden = client.post("/api/teams", json={**body, "consortium_id": far.consortium.id}, headers=admin)
    missing = client.post("/api/teams", json={**body, "consortium_id": MISSING}, headers=admin)
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json()["error"]["fields"][0]["field"] == "consortium_id"
    far_specialist = create_staff(session, institution=far.hospital).id
    members = [{"staff_id": far_specialist if r == "专科医生" else s, "role": r} for r, s in staff.items()]
    far_member = client.post("/api/teams", json={**body, "members": members}, headers=admin)
    assert far_member.status_code == 422
    assert far_member.json()["error"]["fields"][0]["message_en"] == f"staff {far_specialist} does not exist"
    assert session.scalar(select(func.count()).select_from(FamilyDoctorTeam)) == 0
    assert client.post("/api/teams", json=body, headers=admin).status_code == 201


def test_a_contract_with_another_countys_team_is_refused_as_with_an_unknown_team(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    far = build_far_county(session)
    create_team(session, world)
    package = create_package(session, world)
    far_team = FamilyDoctorTeam(
        code="TFAR", name="望远村团队", consortium_id=far.consortium.id, institution_id=far.township.id
    )
    session.add(far_team)
    session.flush()
    signer = bearer(session, world.family_doctor_a)

    def sign(team_id: int) -> tuple[int, object]:
        response = client.post(
            "/api/contracts",
            json={"resident_id": world.resident_a.id, "team_id": team_id, "package_id": package.id},
            headers=signer,
        )
        return response.status_code, response.json()

    hidden, missing = sign(far_team.id), sign(MISSING)
    assert hidden[0] == 422 and hidden == missing
    assert session.scalar(select(func.count()).select_from(Contract)) == 0
