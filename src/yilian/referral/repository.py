"""Queries of two-way referral. Every list of referrals starts from `readable(subject)`: the referrals
of residents the acting subject may read (`auth.scoping`), so a family doctor's box holds their own
grids' patients only, however the list is filtered afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.models import (
    Booking,
    ConsortiumMember,
    Department,
    Encounter,
    FollowUpTask,
    Institution,
    Referral,
    Resident,
    Schedule,
    Slot,
    Staff,
    User,
)
from yilian.scheduling.rules import COUNTY_LEVELS


def readable(subject: Subject) -> Select[Referral]:
    """The referrals of residents the subject may read."""
    return (
        select(Referral)
        .join(Resident, Resident.id == Referral.resident_id)
        .where(scoping.resident_visibility(subject))
    )


def _count(session: Session, statement: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0)


def get(session: Session, referral_id: int) -> Referral | None:
    return session.get(Referral, referral_id)


def box(
    session: Session,
    subject: Subject,
    *,
    institution_id: int,
    incoming: bool,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[int, list[Referral]]:
    """One page of the referrals to (incoming) or from an institution, newest first, and the size of
    the whole filtered box."""
    column = Referral.to_institution_id if incoming else Referral.from_institution_id
    statement = readable(subject).where(column == institution_id)
    if status:
        statement = statement.where(Referral.status == status)
    rows = session.scalars(
        statement.order_by(Referral.requested_at.desc(), Referral.id.desc()).offset(offset).limit(limit)
    )
    return _count(session, statement), list(rows)


def of_resident(
    session: Session, subject: Subject, resident_id: int, *, offset: int = 0, limit: int | None = None
) -> tuple[int, list[Referral]]:
    """A resident's referrals, newest first (a page of them with `limit`), and how many there are:
    the record's history and the resident's own phone page read the same list."""
    statement = readable(subject).where(Referral.resident_id == resident_id)
    rows = list(
        session.scalars(
            statement.order_by(Referral.requested_at.desc(), Referral.id.desc()).offset(offset).limit(limit)
        )
    )
    if limit is None or (offset == 0 and len(rows) < limit):
        return len(rows) + offset, rows
    return _count(session, statement), rows


@dataclass(frozen=True)
class Related:
    """What a referral is shown with: names of the patient, the two institutions and the department,
    the first place booked for it and the follow-up it created."""

    resident_name: str
    from_institution_name: str
    to_institution_name: str
    to_department_name: str | None
    booking_id: int | None
    booked_at: datetime | None
    follow_up_due_on: date | None


def related(session: Session, referrals: Sequence[Referral]) -> dict[int, Related]:
    """Related rows of a page of referrals in one statement, however long the page."""
    ids = sorted({r.id for r in referrals})
    if not ids:
        return {}
    origin, target = aliased(Institution), aliased(Institution)
    first_booking = (
        select(Booking.referral_id, func.min(Booking.id).label("booking_id"))
        .where(Booking.referral_id.in_(ids))
        .group_by(Booking.referral_id)
        .subquery()
    )
    first_task = (
        select(FollowUpTask.referral_id, func.min(FollowUpTask.id).label("task_id"))
        .where(FollowUpTask.referral_id.in_(ids))
        .group_by(FollowUpTask.referral_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Referral.id,
            Resident.name,
            origin.name,
            target.name,
            Department.name,
            first_booking.c.booking_id,
            Slot.starts_at,
            FollowUpTask.due_on,
        )
        .outerjoin(Resident, Resident.id == Referral.resident_id)
        .outerjoin(origin, origin.id == Referral.from_institution_id)
        .outerjoin(target, target.id == Referral.to_institution_id)
        .outerjoin(Department, Department.id == Referral.to_department_id)
        .outerjoin(first_booking, first_booking.c.referral_id == Referral.id)
        .outerjoin(Booking, Booking.id == first_booking.c.booking_id)
        .outerjoin(Slot, Slot.id == Booking.slot_id)
        .outerjoin(first_task, first_task.c.referral_id == Referral.id)
        .outerjoin(FollowUpTask, FollowUpTask.id == first_task.c.task_id)
        .where(Referral.id.in_(ids))
    )
    return {
        referral_id: Related(
            resident_name=resident or "",
            from_institution_name=sender or "",
            to_institution_name=receiver or "",
            to_department_name=department,
            booking_id=booking_id,
            booked_at=starts_at if booking_id is not None else None,
            follow_up_due_on=due_on,
        )
        for referral_id, resident, sender, receiver, department, booking_id, starts_at, due_on in rows
    }


# --- making and printing a referral ----------------------------------------------------------------


def share_consortium(session: Session, a: int, b: int) -> bool:
    """Whether two institutions are members of one consortium."""
    mine = select(ConsortiumMember.consortium_id).where(ConsortiumMember.institution_id == a)
    return bool(
        session.scalar(
            select(func.count())
            .select_from(ConsortiumMember)
            .where(ConsortiumMember.institution_id == b, ConsortiumMember.consortium_id.in_(mine))
        )
    )


def county_partners(session: Session, institution_id: int) -> list[Institution]:
    """Active county institutions (二级 and above) of the institution's current consortia, but itself."""
    mine = select(ConsortiumMember.consortium_id).where(
        ConsortiumMember.institution_id == institution_id, ConsortiumMember.left_on.is_(None)
    )
    partners = select(ConsortiumMember.institution_id).where(
        ConsortiumMember.consortium_id.in_(mine), ConsortiumMember.left_on.is_(None)
    )
    return list(
        session.scalars(
            select(Institution)
            .where(
                Institution.id.in_(partners),
                Institution.level.in_(COUNTY_LEVELS),
                Institution.is_active.is_(True),
                Institution.id != institution_id,
            )
            .order_by(Institution.level.desc(), Institution.name)
        )
    )


def clinic_departments(session: Session, institution_ids: Iterable[int]) -> list[tuple[int, int, str]]:
    """(institution, department, name) of the departments that run an active clinic schedule."""
    return [
        (institution_id, department_id, name)
        for institution_id, department_id, name in session.execute(
            select(Department.institution_id, Department.id, Department.name)
            .where(
                Department.institution_id.in_(list(institution_ids)),
                exists().where(
                    Schedule.department_id == Department.id,
                    Schedule.kind == "clinic",
                    Schedule.is_active.is_(True),
                ),
            )
            .order_by(Department.name)
        )
    ]


def requester_name(session: Session, user_id: int | None) -> str:
    """The referring doctor as printed: the staff member's name, else the account's display name."""
    found = session.execute(
        select(User.display_name, Staff.name)
        .outerjoin(Staff, Staff.id == User.staff_id)
        .where(User.id == user_id)
    ).first()
    return (found[1] or found[0]) if found else ""


# --- figures ----------------------------------------------------------------------------------------


def figures_scope(subject: Subject, institution_id: int | None) -> Select[int]:
    """Ids of the institutions whose referrals the figures count: those the subject runs, or one of them."""
    scope = select(Institution.id).where(scoping.institution_charge(subject))
    if institution_id is not None:
        scope = scope.where(Institution.id == institution_id)
    return scope


def in_figures(scope: Select[int], low: datetime, high: datetime) -> ColumnElement[bool]:
    """Referrals requested in the period to or from an institution of `scope`."""
    return and_(
        Referral.requested_at.between(low, high),
        or_(Referral.from_institution_id.in_(scope), Referral.to_institution_id.in_(scope)),
    )


def by_direction_and_status(session: Session, where: ColumnElement[bool]) -> dict[tuple[str, str], int]:
    return {
        (d, s): int(n)
        for d, s, n in session.execute(
            select(Referral.direction, Referral.status, func.count())
            .where(where)
            .group_by(Referral.direction, Referral.status)
        )
    }


def _micros(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """`end - start` in whole microseconds, exactly, to order and compare durations in SQL. SQLite
    keeps a timestamp as text 'YYYY-MM-DD HH:MM:SS.ffffff' (its julianday is a double rounded to the
    millisecond, not exact), so whole seconds and the microsecond digits are taken apart."""
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start) * 1_000_000

    def whole(text: Any) -> ColumnElement[int]:
        return cast(text, Integer)  # '' (no fraction stored) is 0

    # Whole seconds of the text without its fraction: SQLite rounds a fraction to the millisecond
    # first, so '…:43.999999' would count as :44.
    def epoch(at: Any) -> ColumnElement[int]:
        return whole(func.strftime("%s", func.substr(at, 1, 19)))

    seconds = epoch(end) - epoch(start)
    return seconds * 1_000_000 + whole(func.substr(end, 21, 6)) - whole(func.substr(start, 21, 6))


@dataclass(frozen=True)
class Durations:
    """Durations between two timestamps over a set of rows: how many there are, how many last at most
    the limit asked for, and the hours of those at the ranks asked for (1-based, shortest first)."""

    count: int
    within: int
    hours_at: dict[int, float]


def durations(
    session: Session,
    *,
    start: InstrumentedAttribute[Any],
    end: InstrumentedAttribute[Any],
    where: ColumnElement[bool],
    within_micros: int | None = None,
    ranks: Callable[[int], Iterable[int]] | None = None,
) -> Durations:
    """Counted, and the durations at `ranks(count)` picked, by the database: no row leaves it but those
    picked. Their hours are computed here as `timedelta.total_seconds() / 3600`, so a percentile is
    the very number a list of every duration gives (tests/referral/test_queries.py)."""
    micros = _micros(session, start, end)
    present = and_(where, start.is_not(None), end.is_not(None))
    within_sql = (
        func.coalesce(func.sum(case((micros <= literal(within_micros, BigInteger), 1), else_=0)), 0)
        if within_micros is not None
        else literal(0)
    )
    count, within = session.execute(select(func.count(), within_sql).where(present)).one()
    wanted = sorted(set(ranks(int(count)))) if ranks is not None and count else []
    hours_at: dict[int, float] = {}
    if wanted:
        ranked = (
            select(
                start.label("start"), end.label("end"), func.row_number().over(order_by=micros).label("rank")
            )
            .where(present)
            .subquery()
        )
        for rank, began, ended in session.execute(
            select(ranked.c.rank, ranked.c.start, ranked.c.end).where(ranked.c.rank.in_(wanted))
        ):
            hours_at[int(rank)] = (ended - began).total_seconds() / 3600
    return Durations(count=int(count), within=int(within or 0), hours_at=hours_at)


def overdue_follow_ups(session: Session, where: ColumnElement[bool], today: date) -> int:
    """Open follow-up tasks of the referrals selected, due before today."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(FollowUpTask)
            .join(Referral, Referral.id == FollowUpTask.referral_id)
            .where(where, FollowUpTask.status == "open", FollowUpTask.due_on < today)
        )
        or 0
    )


def upward_outside_consortium(session: Session, where: ColumnElement[bool]) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(where, Referral.direction == "up", Referral.inside_consortium.is_(False))
        )
        or 0
    )


def county_outpatient_visits(session: Session, scope: Select[int], start: date, end: date) -> int:
    """Outpatient visits to the county-level (二级, 三级) institutions of `scope` in the period."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Encounter)
            .where(
                Encounter.institution_id.in_(_county(scope)),
                Encounter.kind == "outpatient",
                Encounter.start_date.between(start, end),
            )
        )
        or 0
    )


def referral_bookings(session: Session, scope: Select[int], start: date, end: date) -> int:
    """预约转诊 among the county hospitals' outpatients: patients who came (checked in) to a clinic
    place a grassroots doctor booked for them. Not an exam or a bed (not an outpatient visit), not a
    booking still ahead, cancelled or not kept (no visit to compare with the visits counted)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(Schedule, Schedule.id == Slot.schedule_id)
            .where(
                Slot.institution_id.in_(_county(scope)),
                Schedule.kind == "clinic",
                Booking.channel == "grassroots",
                Booking.status == "checked_in",
                Booking.session_date.between(start, end),
            )
        )
        or 0
    )


def _county(scope: Select[int]) -> Select[int]:
    return select(Institution.id).where(Institution.id.in_(scope), Institution.level.in_(("二级", "三级")))
