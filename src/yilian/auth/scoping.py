"""Readable rows for the acting subject: privacy is enforced here, once, for every list and read."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, literal, or_, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import BindParameter

from yilian.auth import rules
from yilian.auth.rules import Subject
from yilian.kit.errors import Forbidden, NotFound, ValidationFailed
from yilian.kit.sql import in_parameter
from yilian.models import (
    Booking,
    CareRelation,
    Consortium,
    ConsortiumMember,
    DiagnosticCentre,
    ExamOrder,
    Grid,
    Guardianship,
    Institution,
    Referral,
    Resident,
    Slot,
    Teleconsult,
)

Column = ColumnElement[Any] | QueryableAttribute[Any]


def _served_by_institution(institution_id: Any) -> ColumnElement[bool]:
    grid_ids = select(Grid.id).where(
        or_(Grid.institution_id == institution_id, Grid.clinic_id == institution_id)
    )
    # Each test correlates on Resident only: embedded in a statement over encounters (FHIR's
    # Encounter search) or referrals, it must not bind to the outer row.
    # Seen there at least once: one probe of care_relation's key, which triggers on encounter keep
    # exact (decision 0017), not a search through the resident's encounters.
    cared_for = (
        select(CareRelation.resident_id)
        .where(CareRelation.institution_id == institution_id, CareRelation.resident_id == Resident.id)
        .correlate(Resident)
        .exists()
    )
    # A referral to or from the institution opens the record to it: the receiving department must
    # read the summary and results before the patient's first visit.
    referred = (
        select(Referral.id)
        .where(
            Referral.resident_id == Resident.id,
            or_(Referral.to_institution_id == institution_id, Referral.from_institution_id == institution_id),
        )
        .correlate(Resident)
        .exists()
    )
    # A live booking is registration in advance: the desk that will receive the patient reads the
    # record to check them in (an encounter then keeps it open, as for any patient seen there).
    # Correlated on Resident only: embedded in a statement that reads a slot, it must not bind to it.
    booked = (
        select(Booking.id)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.resident_id == Resident.id,
            # Two equalities, not IN (…): a literal list is an "expanding" parameter, re-rendered
            # into the SQL text on every execution of every statement that embeds this scope.
            or_(Booking.status == "booked", Booking.status == "checked_in"),
            Slot.institution_id == institution_id,
        )
        .correlate(Resident)
        .exists()
    )
    # An exam sent to a shared centre, or a case put to a remote consultant, opens the record to the
    # county doctors who read it: "乡检查、县诊断" needs the history behind the images.
    read_at_centre = (
        select(ExamOrder.id)
        .join(DiagnosticCentre, DiagnosticCentre.id == ExamOrder.centre_id)
        .where(ExamOrder.resident_id == Resident.id, DiagnosticCentre.host_institution_id == institution_id)
        .correlate(Resident)
        .exists()
    )
    consulted = (
        select(Teleconsult.id)
        .where(
            Teleconsult.resident_id == Resident.id, Teleconsult.consultant_institution_id == institution_id
        )
        .correlate(Resident)
        .exists()
    )
    return or_(Resident.grid_id.in_(grid_ids), cared_for, referred, booked, read_at_centre, consulted)


def scope_of(subject: Subject) -> tuple[str, dict[str, Any]]:
    """Which kind of scope the subject has, and the values that fill it (parameters of
    `scope_clause(kind, scope_parameter)` in a prebuilt statement)."""
    role = subject.role
    if role in (rules.COMMISSION, rules.INSURANCE) and subject.region_code:
        low, high = rules.region_range(subject.region_code)
        return "region", {"scope_low": low, "scope_high": high}
    if role == rules.CONSORTIUM_ADMIN and subject.consortium_id:
        return "consortium", {"scope_consortium": subject.consortium_id}
    if role in (rules.INSTITUTION_ADMIN, rules.DOCTOR) and subject.institution_id:
        return "institution", {"scope_institution": subject.institution_id}
    if role == rules.FAMILY_DOCTOR and subject.grid_ids:
        return "grids", {"scope_grids": list(subject.grid_ids)}
    if role == rules.RESIDENT and subject.resident_id:
        return "self", {"scope_resident": subject.resident_id}
    return "none", {}


def scope_clause(kind: str, value: Callable[[str], Any]) -> ColumnElement[bool]:
    if kind == "region":
        return Resident.region_code.between(value("scope_low"), value("scope_high"))
    if kind == "consortium":
        return Resident.grid_id.in_(select(Grid.id).where(Grid.consortium_id == value("scope_consortium")))
    if kind == "institution":
        return _served_by_institution(value("scope_institution"))
    if kind == "grids":
        grids = value("scope_grids")
        # A bound list (a prebuilt statement) is one array parameter on PostgreSQL (kit.sql)
        return (
            in_parameter(Resident.grid_id, grids.key)
            if isinstance(grids, BindParameter)
            else Resident.grid_id.in_(grids)
        )
    if kind == "self":
        # A resident reads their own record and those of the family members they are guardian of.
        wards = select(Guardianship.ward_resident_id).where(
            Guardianship.guardian_resident_id == value("scope_resident"), Guardianship.until.is_(None)
        )
        return or_(Resident.id == value("scope_resident"), Resident.id.in_(wards))
    return false()


def resident_visibility(subject: Subject) -> ColumnElement[bool]:
    """A WHERE clause on Resident limiting rows to those the subject serves."""
    kind, values = scope_of(subject)
    return scope_clause(kind, values.__getitem__)


def readable_residents(subject: Subject) -> Select[Resident]:
    return select(Resident).where(resident_visibility(subject))


def scope_parameter(name: str) -> Any:
    return bindparam(name)


@cache
def _readable_by_id_template(kind: str) -> Select[Resident]:
    """Built once per kind of scope with bound parameters: a request pays for filling in values,
    not for rebuilding (and re-hashing) the expression tree."""
    return select(Resident).where(
        scope_clause(kind, scope_parameter), Resident.id == bindparam("resident_id")
    )


def readable_by_id(session: Session, subject: Subject, resident_id: int) -> Resident | None:
    """One resident if the subject serves them: the hottest read of the platform, a cached statement."""
    kind, values = scope_of(subject)
    return session.scalar(_readable_by_id_template(kind), {**values, "resident_id": resident_id})


def institution_visibility(subject: Subject) -> ColumnElement[bool]:
    """Registry data is not personal, but a county's users see their county only."""
    if subject.region_code:
        low, high = rules.region_range(subject.region_code)
        return Institution.region_code.between(low, high)
    if subject.institution_id:
        county = select(Institution.region_code).where(Institution.id == subject.institution_id)
        return Institution.region_code.in_(county.scalar_subquery())
    if subject.consortium_id:
        county = select(Consortium.region_code).where(Consortium.id == subject.consortium_id)
        return Institution.region_code.in_(county.scalar_subquery())
    return false()


# ---- Institutions, consortia and regions (decision 0022) ------------------------------------------
# Two scopes, one place. *Readable* is the registry as a county sees it: every institution of the
# subject's county, and the consortia they lead. *In charge* is what the subject runs, for writes and
# for operational figures: a division's commission or insurance office everything in it, a consortium
# administrator their consortium and its current members, institution staff their own institution.
# Out of the readable scope answers 404 (or, named in a request body, 422 as if it did not exist):
# existence is not revealed. Readable but not in charge answers 403.


def readable_institutions(subject: Subject) -> Select[Institution]:
    return select(Institution).where(institution_visibility(subject))


def consortium_visibility(subject: Subject) -> ColumnElement[bool]:
    """Consortia led by an institution the subject may read."""
    return Consortium.lead_institution_id.in_(select(Institution.id).where(institution_visibility(subject)))


def readable_consortia(subject: Subject) -> Select[Consortium]:
    return select(Consortium).where(consortium_visibility(subject)).order_by(Consortium.id)


def _current_members(consortium_id: Any) -> Select[Any]:
    return select(ConsortiumMember.institution_id).where(
        ConsortiumMember.consortium_id == consortium_id, ConsortiumMember.left_on.is_(None)
    )


def institution_charge(subject: Subject) -> ColumnElement[bool]:
    """A WHERE clause on Institution: the institutions the subject runs."""
    if subject.region_code:
        return Institution.region_code.between(*rules.region_range(subject.region_code))
    if subject.consortium_id:
        return Institution.id.in_(_current_members(subject.consortium_id))
    if subject.institution_id:
        return Institution.id == subject.institution_id
    return false()


def writable_institutions(subject: Subject) -> Select[Institution]:
    return select(Institution).where(institution_charge(subject))


def consortium_charge(subject: Subject, *, as_member: bool = False) -> ColumnElement[bool]:
    """A WHERE clause on Consortium: the consortia the subject runs; with `as_member`, an
    institution's staff also follow the consortia their institution belongs to (shared figures)."""
    if subject.region_code:
        return Consortium.region_code.between(*rules.region_range(subject.region_code))
    if subject.consortium_id:
        return Consortium.id == subject.consortium_id
    if subject.institution_id and as_member:
        return Consortium.id.in_(
            select(ConsortiumMember.consortium_id).where(
                ConsortiumMember.institution_id == subject.institution_id, ConsortiumMember.left_on.is_(None)
            )
        )
    return false()


def writable_consortia(subject: Subject) -> Select[Consortium]:
    return select(Consortium).where(consortium_charge(subject)).order_by(Consortium.id)


def charge_clause(
    subject: Subject, *, institution: Column, consortium: Column | None = None
) -> ColumnElement[bool]:
    """Rows tied to an institution (and to a consortium, when they carry one) that the subject runs:
    a division's or consortium's rows by their consortium, an institution's by their institution."""
    if consortium is not None and (subject.region_code or subject.consortium_id):
        return consortium.in_(select(Consortium.id).where(consortium_charge(subject)))
    return institution.in_(select(Institution.id).where(institution_charge(subject)))


def in_charge(
    session: Session, subject: Subject, *, institution_id: int, consortium_id: int | None = None
) -> bool:
    """The same test as `charge_clause`, for one institution (and consortium) named by id."""
    clause = charge_clause(
        subject,
        institution=literal(institution_id),
        consortium=None if consortium_id is None else literal(consortium_id),
    )
    return bool(session.scalar(select(clause)))


INTEGRATED_KINDS = ("县域医共体", "城市医疗集团")


def home_consortium(session: Session, subject: Subject) -> int | None:
    """The first consortium the subject runs or works in. A county hospital is also in specialist
    alliances and telemedicine networks; its shared centres, catalogue and packages are those of its
    county consortium (or urban medical group), so those come first."""
    return session.scalar(
        select(Consortium.id)
        .where(consortium_charge(subject, as_member=True))
        .order_by(Consortium.kind.not_in(INTEGRATED_KINDS), Consortium.id)
        .limit(1)
    )


def region_of(session: Session, subject: Subject) -> str | None:
    """The division a subject works in: their own, their consortium's, or their institution's."""
    if subject.region_code:
        return subject.region_code
    if subject.consortium_id:
        return session.scalar(select(Consortium.region_code).where(Consortium.id == subject.consortium_id))
    if subject.institution_id:
        return session.scalar(select(Institution.region_code).where(Institution.id == subject.institution_id))
    return None


def subject_region(session: Session, subject: Subject) -> str:
    region = region_of(session, subject)
    if region is None:
        raise Forbidden("当前账号没有所属行政区划", "Your account has no division")
    return region


def readable_institution(session: Session, subject: Subject, institution_id: int) -> Institution | None:
    return session.scalar(readable_institutions(subject).where(Institution.id == institution_id))


def access_institution(
    session: Session,
    subject: Subject,
    institution_id: int,
    *,
    what: tuple[str, str] = ("机构", "Institution"),
) -> Institution:
    """One institution the subject may read, or not found (404, saying `what` was not found)."""
    found = readable_institution(session, subject, institution_id)
    if found is None:
        raise NotFound(*what)
    return found


def access_consortium(session: Session, subject: Subject, consortium_id: int) -> Consortium:
    """One consortium the subject may read, or not found (404)."""
    found = session.scalar(readable_consortia(subject).where(Consortium.id == consortium_id))
    if found is None:
        raise NotFound("医联体", "Consortium")
    return found


def _refuse(what_zh: str, what_en: str) -> Forbidden:
    return Forbidden(f"该{what_zh}不在您的管理范围", f"This {what_en} is not in your charge")


def institution_in_charge(
    session: Session,
    subject: Subject,
    institution_id: int,
    *,
    what: tuple[str, str] = ("机构", "Institution"),
) -> Institution:
    """An institution the subject runs: 404 outside what they read, 403 if read but not run."""
    found = access_institution(session, subject, institution_id, what=what)
    if not in_charge(session, subject, institution_id=found.id):
        raise _refuse("机构", "institution")
    return found


def consortium_in_charge(
    session: Session, subject: Subject, consortium_id: int, *, as_member: bool = False
) -> Consortium:
    """A consortium the subject runs (or, `as_member`, belongs to): 404 unread, 403 read but not run."""
    found = access_consortium(session, subject, consortium_id)
    run = select(Consortium.id).where(
        Consortium.id == found.id, consortium_charge(subject, as_member=as_member)
    )
    if session.scalar(run) is None:
        raise _refuse("医联体", "consortium")
    return found


def named_institution(session: Session, subject: Subject, field: str, institution_id: int) -> Institution:
    """An institution named in a request body: one the subject cannot read is "does not exist" (422),
    exactly as one that does not."""
    found = readable_institution(session, subject, institution_id)
    if found is None:
        raise ValidationFailed.one(
            field, f"机构{institution_id}不存在", f"institution {institution_id} does not exist"
        )
    return found


def named_consortium(session: Session, subject: Subject, field: str, consortium_id: int) -> Consortium:
    """A consortium named in a request body: unreadable is "does not exist" (422), as for `named_institution`."""
    found = session.scalar(readable_consortia(subject).where(Consortium.id == consortium_id))
    if found is None:
        raise ValidationFailed.one(
            field, f"医联体{consortium_id}不存在", f"consortium {consortium_id} does not exist"
        )
    return found


def named_institution_in_charge(
    session: Session, subject: Subject, field: str, institution_id: int
) -> Institution:
    """`named_institution`, which the subject must also run (403 otherwise)."""
    found = named_institution(session, subject, field, institution_id)
    if not in_charge(session, subject, institution_id=found.id):
        raise _refuse("机构", "institution")
    return found


def check_region_in_charge(session: Session, subject: Subject, field: str, region_code: str) -> None:
    """A new row's division must lie inside the subject's own (divisions are public: 403, not 404)."""
    low, high = rules.region_range(subject_region(session, subject))
    if not low <= region_code <= high:
        raise Forbidden(
            f"{field}：只能在本辖区内登记", f"{field}: you register inside your own division only"
        )
