"""Queries behind the conduct screens: records and standings, starting from the institutions the
caller is in charge of — the commission its division, a consortium its members, an institution
itself (a record of a staff member belongs to the staff member's home institution)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, delete, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from yilian.auth import scoping
from yilian.auth.context import Subject
from yilian.evaluation import conduct as rules
from yilian.models import ConductOffence, ConductRecord, Institution, Staff, StaffBlacklisting

_Concerned = aliased(Institution)
Records = Select[*tuple[Any, ...]]


def readable_records(subject: Subject) -> Records:
    """Each record with its offence, the staff member (if any) and the institution concerned."""
    concerned_id = func.coalesce(ConductRecord.institution_id, Staff.home_institution_id)
    readable = select(Institution.id).where(scoping.institution_charge(subject))
    return (
        select(
            ConductRecord,
            ConductOffence.name.label("offence_name"),
            Staff.name.label("staff_name"),
            _Concerned.name.label("concerned_name"),
            _Concerned.id.label("concerned_id"),
        )
        .join(ConductOffence, ConductOffence.code == ConductRecord.offence_code)
        .outerjoin(Staff, Staff.id == ConductRecord.staff_id)
        .join(_Concerned, _Concerned.id == concerned_id)
        .where(concerned_id.in_(readable))
    )


def filtered_records(
    subject: Subject,
    *,
    status: str | None = None,
    kind: str | None = None,
    institution_id: int | None = None,
    name: str | None = None,
) -> Records:
    statement = readable_records(subject)
    if status:
        statement = statement.where(ConductRecord.status == status)
    if kind == rules.STAFF:
        statement = statement.where(ConductRecord.staff_id.is_not(None))
    elif kind == rules.INSTITUTION:
        statement = statement.where(ConductRecord.institution_id.is_not(None))
    if institution_id is not None:
        statement = statement.where(_Concerned.id == institution_id)
    if name:
        statement = statement.where(or_(Staff.name.contains(name), _Concerned.name.contains(name)))
    return statement.order_by(ConductRecord.recorded_at.desc(), ConductRecord.id.desc())


def count(session: Session, statement: Records) -> int:
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0


def standings(
    session: Session,
    subject: Subject,
    *,
    today: date,
    policy: rules.Policy,
    blacklisted_only: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Staff members and institutions with points that count today, most points first: one query
    (a record counts from the day of the offence for the policy's expiry, unless overturned)."""
    base = readable_records(subject).where(
        ConductRecord.status != rules.OVERTURNED,
        ConductRecord.occurred_on >= rules.counted_since(today, policy),
        ConductRecord.occurred_on <= today,
    )
    records = base.subquery()
    points = func.sum(records.c.points).label("points")
    grouped = select(
        records.c.staff_id,
        records.c.institution_id,
        func.max(records.c.staff_name).label("staff_name"),
        func.max(records.c.concerned_name).label("institution_name"),
        points,
        func.count().label("records"),
        func.max(records.c.occurred_on).label("last_on"),
    ).group_by(records.c.staff_id, records.c.institution_id)
    if blacklisted_only:
        grouped = grouped.having(points >= policy.threshold)
    total = session.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    rows = session.execute(
        grouped.order_by(points.desc(), records.c.staff_id, records.c.institution_id)
        .offset(offset)
        .limit(limit)
    ).all()
    return total, [
        {
            "kind": rules.STAFF if r.staff_id is not None else rules.INSTITUTION,
            "staff_id": r.staff_id,
            "institution_id": r.institution_id,
            "name": r.staff_name if r.staff_id is not None else r.institution_name,
            "institution_name": r.institution_name,
            "points": int(r.points),
            "records": r.records,
            "last_on": r.last_on,
            "blacklisted": int(r.points) >= policy.threshold,
        }
        for r in rows
    ]


def staff_points(session: Session, staff_ids: Collection[int] | None) -> dict[int, list[rules.Point]]:
    """Every record of these staff members (None: of every staff member with one), as points."""
    statement = select(
        ConductRecord.staff_id, ConductRecord.points, ConductRecord.occurred_on, ConductRecord.status
    ).where(ConductRecord.staff_id.is_not(None))
    if staff_ids is not None:
        statement = statement.where(ConductRecord.staff_id.in_(staff_ids))
    points: dict[int, list[rules.Point]] = {}
    for staff_id, value, occurred_on, status in session.execute(statement):
        points.setdefault(cast(int, staff_id), []).append(rules.Point(value, occurred_on, status))  # not NULL
    return points


def replace_blacklistings(
    session: Session, staff_ids: Collection[int] | None, periods: dict[int, list[tuple[date, date | None]]]
) -> None:
    """The registry's blacklist periods of these staff members (None: of everyone) become `periods`."""
    removed = delete(StaffBlacklisting)
    if staff_ids is not None:
        removed = removed.where(StaffBlacklisting.staff_id.in_(staff_ids))
    session.execute(removed.execution_options(synchronize_session=False))
    rows = [
        {"staff_id": staff_id, "starts_on": starts_on, "ends_before": ends_before}
        for staff_id, spans in periods.items()
        for starts_on, ends_before in spans
    ]
    if rows:
        session.execute(insert(StaffBlacklisting), rows)
