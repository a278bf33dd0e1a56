from __future__ import annotations

import itertools
from datetime import date, datetime

from sqlalchemy.orm import Session

from tests.factories.registry import create_staff
from tests.factories.world import World
from yilian.models import Contract, Drug, FamilyDoctorTeam, Resident, ServicePackage, TeamGrid, TeamMember

_seq = itertools.count(1)


def create_team(session: Session, world: World) -> tuple[FamilyDoctorTeam, dict[str, int]]:
    """Township A's team: its village doctor, GP, a county specialist and a health manager; serves grid A."""
    members = {
        "村医": create_staff(session, institution=world.clinic_a, practitioner_type="乡村医生").id,
        "全科医生": create_staff(session, institution=world.township_a).id,
        "专科医生": create_staff(session, institution=world.hospital).id,
        "健康管理师": create_staff(session, institution=world.township_a, practitioner_type="护士").id,
    }
    n = next(_seq)
    team = FamilyDoctorTeam(
        code=f"TD{n:04d}",
        name=f"团队{n}",
        consortium_id=world.consortium.id,
        institution_id=world.township_a.id,
    )
    session.add(team)
    session.flush()
    session.add_all(TeamMember(team_id=team.id, staff_id=s, role=r) for r, s in members.items())
    session.add(TeamGrid(team_id=team.id, grid_id=world.grid_a.id))
    session.flush()
    return team, members


def create_package(
    session: Session, world: World, *, price_fen: int = 12000, category: str = "高血压"
) -> ServicePackage:
    n = next(_seq)
    package = ServicePackage(
        consortium_id=world.consortium.id,
        code=f"P{n}",
        name=f"{category}包{n}",
        category=category,
        contents="随访",
        price_fen=price_fen,
        insurance_permille=400,
        public_permille=300,
        valid_from=date(2025, 1, 1),
        valid_to=None,
    )
    session.add(package)
    session.flush()
    return package


def create_drug(session: Session, world: World, name: str = "苯磺酸氨氯地平片") -> Drug:
    drug = Drug(
        consortium_id=world.consortium.id,
        code=f"Y{next(_seq)}",
        name=name,
        specification="5mg×28片",
        unit="盒",
        price_fen=420,
        is_vbp=True,
    )
    session.add(drug)
    session.flush()
    return drug


def create_contract(
    session: Session,
    world: World,
    *,
    resident: Resident,
    team: FamilyDoctorTeam,
    package: ServicePackage,
    start: date = date(2026, 1, 1),
    end: date = date(2026, 12, 31),
    fee_fen: int = 0,
) -> Contract:
    contract = Contract(
        resident_id=resident.id,
        team_id=team.id,
        package_id=package.id,
        consortium_id=world.consortium.id,
        start_on=start,
        end_on=end,
        fee_fen=fee_fen,
        status="active",
        signed_at=datetime.combine(start, datetime.min.time()),
    )
    session.add(contract)
    session.flush()
    return contract
