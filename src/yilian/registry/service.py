"""Use cases of the registry. Services flush; the request commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.id_numbers import parse_id_number
from yilian.models import Consortium, ConsortiumMember, Grid, Institution, Posting, Staff
from yilian.registry import repository, rules
from yilian.registry.schemas import (
    ConsortiumIn,
    GridIn,
    InstitutionIn,
    MemberIn,
    PostingIn,
    PostingSummary,
    StaffIn,
)


def _require_manager(subject: Subject) -> None:
    if not subject.may(roles.REGISTRY_MANAGERS):
        raise Forbidden("只有管理员可以维护机构和医联体信息", "Only administrators maintain the registry")


def _existing_division(session: Session, field: str, code: str) -> str:
    rules.check_region_code(field, code)
    if repository.division(session, code) is None:
        raise ValidationFailed.one(
            field, f"行政区划代码{code}未登记", f"region code {code} is not registered"
        )
    return code


def do_create_institution(session: Session, *, subject: Subject, data: InstitutionIn) -> Institution:
    """Register an institution with its level, type and region."""
    _require_manager(subject)
    rules.check_choice("level", data.level, rules.INSTITUTION_LEVELS, "机构级别")
    rules.check_choice("type", data.type, rules.INSTITUTION_TYPES, "机构类型")
    if data.grade is not None:
        rules.check_choice("grade", data.grade, rules.INSTITUTION_GRADES, "等次")
    _existing_division(session, "region_code", data.region_code)
    scoping.check_region_in_charge(session, subject, "region_code", data.region_code)
    if data.parent_id is not None:
        scoping.named_institution_in_charge(session, subject, "parent_id", data.parent_id)
    if repository.institution_by_code(session, data.code) is not None:
        raise Conflict(f"机构编码{data.code}已存在", f"institution code {data.code} already exists")
    institution = Institution(**data.model_dump(), is_grassroots=rules.is_grassroots(data.type))
    session.add(institution)
    session.flush()
    return institution


def do_create_consortium(session: Session, *, subject: Subject, data: ConsortiumIn) -> Consortium:
    """Create a consortium; its lead institution becomes the first member (牵头)."""
    _require_manager(subject)
    rules.check_choice("kind", data.kind, rules.CONSORTIUM_KINDS, "医联体类型")
    _existing_division(session, "region_code", data.region_code)
    scoping.check_region_in_charge(session, subject, "region_code", data.region_code)
    scoping.named_institution_in_charge(session, subject, "lead_institution_id", data.lead_institution_id)
    if repository.consortium_by_code(session, data.code) is not None:
        raise Conflict(f"医联体编码{data.code}已存在", f"consortium code {data.code} already exists")
    consortium = Consortium(**data.model_dump())
    session.add(consortium)
    session.flush()
    session.add(
        ConsortiumMember(
            consortium_id=consortium.id,
            institution_id=data.lead_institution_id,
            role="牵头",
            joined_on=data.established_on,
        )
    )
    session.flush()
    return consortium


def do_add_member(
    session: Session, *, subject: Subject, consortium_id: int, data: MemberIn
) -> ConsortiumMember:
    """Add an institution to a consortium (it may already belong to others)."""
    _require_manager(subject)
    consortium = scoping.consortium_in_charge(session, subject, consortium_id)
    rules.check_choice("role", data.role, rules.MEMBER_ROLES, "成员角色")
    if data.role == "牵头":
        raise ValidationFailed.one(
            "role", "牵头单位在创建医联体时指定", "the lead is set when the consortium is created"
        )
    scoping.named_institution(session, subject, "institution_id", data.institution_id)
    if repository.membership(session, consortium.id, data.institution_id) is not None:
        raise Conflict("该机构已是本医联体成员", "institution is already a member of this consortium")
    member = ConsortiumMember(consortium_id=consortium.id, **data.model_dump())
    session.add(member)
    session.flush()
    return member


def do_create_grid(session: Session, *, subject: Subject, consortium_id: int, data: GridIn) -> Grid:
    """Assign a village or community to a member institution of the consortium."""
    _require_manager(subject)
    consortium = scoping.consortium_in_charge(session, subject, consortium_id)
    _existing_division(session, "region_code", data.region_code)
    scoping.check_region_in_charge(session, subject, "region_code", data.region_code)
    if repository.membership(session, consortium.id, data.institution_id) is None:
        raise ValidationFailed.one(
            "institution_id", "网格只能分配给本医联体成员机构", "grid must be served by a member"
        )
    if data.clinic_id is not None:
        scoping.named_institution(session, subject, "clinic_id", data.clinic_id)
    if repository.grid_code_taken(session, data.code):
        raise Conflict(
            f"网格编码{data.code}已存在",
            f"grid code {data.code} already exists",
            [FieldError("code", "网格编码已存在", "grid code already exists")],
        )
    grid = Grid(consortium_id=consortium.id, **data.model_dump())
    session.add(grid)
    session.flush()
    return grid


def do_create_staff(session: Session, *, subject: Subject, data: StaffIn, today: date) -> Staff:
    """Register a staff member at their home institution."""
    _require_manager(subject)
    rules.check_choice("practitioner_type", data.practitioner_type, rules.PRACTITIONER_TYPES, "执业类别")
    if data.title is not None:
        rules.check_choice("title", data.title, rules.TITLES, "职称")
    scoping.named_institution_in_charge(session, subject, "home_institution_id", data.home_institution_id)
    values = data.model_dump()
    if data.id_number:
        values["id_number"] = parse_id_number(data.id_number, today=today).id_number
    taken = repository.staff_taken(session, code=data.code, id_number=values.get("id_number"))
    if taken is not None:
        raise Conflict(
            "该人员编码或身份证号已登记",
            "a staff member with this code or ID number is already registered",
            [FieldError(taken, "已登记", "already registered")],
        )
    staff = Staff(**values)
    session.add(staff)
    session.flush()
    return staff


def do_add_posting(
    session: Session, *, subject: Subject, staff_id: int, data: PostingIn, today: date
) -> Posting:
    """Record a posting away from the home institution (县管乡用, 乡聘村用, dispatch); a
    blacklisted staff member is not posted (004 §2.6)."""
    _require_manager(subject)
    staff = repository.staff(session, staff_id)
    if staff is None:
        raise NotFound("人员", "Staff member")
    # Staff of an institution the subject cannot read are "not found" too, in the same words.
    scoping.institution_in_charge(session, subject, staff.home_institution_id, what=("人员", "Staff member"))
    refuse_blacklisted_staff(session, staff.id, today, "派驻", "posted")
    rules.check_choice("kind", data.kind, rules.POSTING_KINDS, "派驻类型")
    rules.check_posting_dates(data.start_on, data.end_on)
    scoping.named_institution(session, subject, "institution_id", data.institution_id)
    posting = Posting(staff_id=staff.id, **data.model_dump())
    session.add(posting)
    session.flush()
    return posting


def posting_summary(session: Session, *, subject: Subject, as_of: date) -> PostingSummary:
    region = scoping.subject_region(session, subject)
    counts = repository.long_dispatch_counts(
        session, region_code_range=roles.region_range(region), as_of=as_of
    )
    return PostingSummary(
        as_of=as_of,
        long_dispatches=sum(counts.values()),
        county_managed_township_used=counts.get("县管乡用", 0),
        by_kind=counts,
    )


def refuse_blacklisted_staff(
    session: Session, staff_id: int | None, today: date, what_zh: str, what_en: str
) -> None:
    """A staff member on the bad-practice blacklist today is neither scheduled nor posted (004 §2.6)."""
    if staff_id is not None and repository.blacklisted_staff(session, [staff_id], today):
        raise ValidationFailed.one(
            "staff_id",
            f"该人员不良执业记分已达黑名单分值，不能{what_zh}",
            f"this staff member is blacklisted for bad practice and cannot be {what_en}",
        )
