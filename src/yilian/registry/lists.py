"""The registry's lists for the screens: one filtered statement serves the page and the whole export."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.kit.errors import Forbidden, NotFound
from yilian.kit.masking import shown_identifiers
from yilian.kit.tabular import write_xlsx
from yilian.models import Grid, Institution
from yilian.registry import repository
from yilian.registry.schemas import (
    ConsortiumRow,
    GridRow,
    InstitutionRow,
    PostingOut,
    StaffRow,
)


def _staff_reader(subject: Subject) -> None:
    if subject.role == roles.RESIDENT:
        raise Forbidden("居民不能查看人员名册", "Residents cannot read the staff register")


def institution_rows(
    session: Session, statement: Any, *, offset: int, limit: int | None
) -> list[InstitutionRow]:
    return [
        InstitutionRow(
            id=i.id,
            code=i.code,
            name=i.name,
            level=i.level,
            grade=i.grade,
            type=i.type,
            region_code=i.region_code,
            township=i.township,
            parent_id=i.parent_id,
            is_grassroots=i.is_grassroots,
            parent_name=p,
        )
        for i, p in repository.page_of(session, statement, offset=offset, limit=limit)
    ]


INSTITUTION_HEADER = ["机构编码", "机构名称", "级别", "等次", "类型", "乡镇", "上级机构", "基层机构"]


def institutions_export(session: Session, statement: Any) -> bytes:
    rows = institution_rows(session, statement, offset=0, limit=None)
    return write_xlsx(
        INSTITUTION_HEADER,
        (
            [
                r.code,
                r.name,
                r.level,
                r.grade or "",
                r.type,
                r.township or "",
                r.parent_name or "",
                "是" if r.is_grassroots else "否",
            ]
            for r in rows
        ),
        "机构",
    )


def consortium_rows(
    session: Session, statement: Any, *, offset: int, limit: int | None
) -> list[ConsortiumRow]:
    return [
        ConsortiumRow(
            id=c.id,
            code=c.code,
            name=c.name,
            kind=c.kind,
            region_code=c.region_code,
            lead_institution_id=c.lead_institution_id,
            established_on=c.established_on,
            lead_institution_name=lead,
            member_count=members,
            grid_count=grids,
        )
        for c, lead, members, grids in repository.page_of(session, statement, offset=offset, limit=limit)
    ]


def consortia_export(session: Session, statement: Any) -> bytes:
    rows = consortium_rows(session, statement, offset=0, limit=None)
    return write_xlsx(
        ["医联体编码", "名称", "类型", "牵头机构", "成员数", "网格数", "成立日期"],
        (
            [r.code, r.name, r.kind, r.lead_institution_name, r.member_count, r.grid_count, r.established_on]
            for r in rows
        ),
        "医联体",
    )


def grid_rows(session: Session, statement: Any, *, offset: int, limit: int | None) -> list[GridRow]:
    return [
        GridRow(
            id=g.id,
            code=g.code,
            name=g.name,
            region_code=g.region_code,
            institution_id=g.institution_id,
            institution_name=institution,
            clinic_name=clinic,
        )
        for g, institution, clinic in repository.page_of(session, statement, offset=offset, limit=limit)
    ]


def served_grids(subject: Subject, *, q: str) -> Any:
    """The grids a registrar puts residents in: a family doctor's own, an institution's (as the
    serving institution or the village clinic), a consortium's, or those of the readable county."""
    if subject.role == roles.RESIDENT:
        raise Forbidden("居民不能查看网格", "Residents cannot list grids")
    if subject.role == roles.FAMILY_DOCTOR:
        where: Any = Grid.id.in_(sorted(subject.grid_ids) or [-1])
    elif subject.institution_id:
        where = or_(Grid.institution_id == subject.institution_id, Grid.clinic_id == subject.institution_id)
    elif subject.consortium_id:
        where = Grid.consortium_id == subject.consortium_id
    else:
        readable = scoping.readable_institutions(subject).with_only_columns(Institution.id).order_by(None)
        where = Grid.institution_id.in_(readable)
    return repository.grids_statement(None, q=q, where=where)


def staff_rows(
    session: Session, subject: Subject, statement: Any, *, offset: int, limit: int | None
) -> list[StaffRow]:
    """Staff as a list shows them: identifiers masked unless the role needs them in full."""
    _staff_reader(subject)
    full = subject.may(roles.FULL_IDENTIFIERS_IN_LISTS)
    out = []
    for s, home, open_postings in repository.page_of(session, statement, offset=offset, limit=limit):
        id_number, phone = shown_identifiers(s.id_number, s.phone, full=full)
        out.append(
            StaffRow(
                id=s.id,
                code=s.code,
                name=s.name,
                sex=s.sex,
                id_number=id_number,
                phone=phone,
                practitioner_type=s.practitioner_type,
                title=s.title,
                specialty=s.specialty,
                licensed=s.licensed,
                home_institution_id=s.home_institution_id,
                home_institution_name=home,
                open_postings=open_postings,
            )
        )
    return out


STAFF_HEADER = [
    "工号",
    "姓名",
    "性别",
    "身份证号",
    "电话",
    "执业类别",
    "职称",
    "专业",
    "所属机构",
    "在岗派驻数",
]


def staff_export(session: Session, subject: Subject, statement: Any) -> bytes:
    rows = staff_rows(session, subject, statement, offset=0, limit=None)
    return write_xlsx(
        STAFF_HEADER,
        (
            [
                r.code,
                r.name,
                "男" if r.sex == "M" else "女",
                r.id_number,
                r.phone,
                r.practitioner_type,
                r.title or "",
                r.specialty or "",
                r.home_institution_name,
                r.open_postings,
            ]
            for r in rows
        ),
        "人员",
    )


def staff_postings(session: Session, subject: Subject, staff_id: int) -> list[PostingOut]:
    """A staff member's postings, newest first (404 when their home institution is out of reach)."""
    _staff_reader(subject)
    staff = repository.staff(session, staff_id)
    if staff is None or scoping.readable_institution(session, subject, staff.home_institution_id) is None:
        raise NotFound("人员", "staff member")
    return [
        PostingOut(
            id=p.id,
            institution_id=p.institution_id,
            institution_name=name,
            kind=p.kind,
            start_on=p.start_on,
            end_on=p.end_on,
        )
        for p, name in repository.postings_of(session, staff_id)
    ]
