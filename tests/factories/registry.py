from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from yilian.models import AdminDivision, Consortium, ConsortiumMember, Grid, Institution, Staff
from yilian.registry.rules import is_grassroots

_seq = itertools.count(1)


def create_division(
    session: Session,
    *,
    code: str = "640181",
    name: str = "灵武市",
    level: str = "county",
    parent_code: str | None = None,
) -> AdminDivision:
    found = session.get(AdminDivision, code)
    if found is not None:
        return found
    division = AdminDivision(code=code, name=name, level=level, parent_code=parent_code)
    session.add(division)
    session.flush()
    return division


def create_institution(
    session: Session,
    *,
    name: str | None = None,
    type: str = "乡镇卫生院",
    level: str = "一级",
    region_code: str = "640181",
    parent_id: int | None = None,
) -> Institution:
    create_division(session, code=region_code, name=f"县{region_code}")
    n = next(_seq)
    institution = Institution(
        code=f"T{n:05d}",
        name=name or f"测试机构{n}",
        level=level,
        type=type,
        region_code=region_code,
        parent_id=parent_id,
        is_grassroots=is_grassroots(type),
    )
    session.add(institution)
    session.flush()
    return institution


def create_consortium(
    session: Session,
    *,
    lead: Institution,
    members: list[Institution] = (),  # type: ignore[assignment]
    kind: str = "县域医共体",
    region_code: str | None = None,
) -> Consortium:
    n = next(_seq)
    consortium = Consortium(
        code=f"C{n:05d}",
        name=f"测试医共体{n}",
        kind=kind,
        region_code=region_code or lead.region_code,
        lead_institution_id=lead.id,
        established_on=date(2020, 1, 1),
    )
    session.add(consortium)
    session.flush()
    session.add(ConsortiumMember(consortium_id=consortium.id, institution_id=lead.id, role="牵头"))
    session.add_all(
        ConsortiumMember(consortium_id=consortium.id, institution_id=m.id, role="成员") for m in members
    )
    session.flush()
    return consortium


def create_grid(
    session: Session,
    *,
    consortium: Consortium,
    institution: Institution,
    clinic: Institution | None = None,
    name: str | None = None,
) -> Grid:
    n = next(_seq)
    grid = Grid(
        code=f"G{n:05d}",
        name=name or f"网格{n}",
        region_code=institution.region_code,
        consortium_id=consortium.id,
        institution_id=institution.id,
        clinic_id=clinic.id if clinic else None,
    )
    session.add(grid)
    session.flush()
    return grid


def create_staff(
    session: Session,
    *,
    institution: Institution,
    practitioner_type: str = "执业医师",
    name: str | None = None,
    sex: str = "M",
) -> Staff:
    n = next(_seq)
    staff = Staff(
        code=f"S{n:05d}",
        name=name or f"医生{n}",
        sex=sex,
        practitioner_type=practitioner_type,
        home_institution_id=institution.id,
        phone="13900001111",
    )
    session.add(staff)
    session.flush()
    return staff
