"""Bad-practice points: the catalogue and policy, recording, appeal and decision, standings, and the
blacklist periods it records in the registry for scheduling and postings to read (decision 0030).

The commission and the consortium (总院 builds the system, 004 §2.6) record and decide; the
institution concerned (its administrator) appeals for itself and its staff.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.evaluation import conduct as rules
from yilian.evaluation import conduct_repository
from yilian.kit.errors import FieldError, Forbidden, NotFound, ValidationFailed
from yilian.kit.tabular import read_rows
from yilian.models import ConductOffence, ConductPolicy, ConductRecord, Staff

SUPERVISORS = frozenset({roles.COMMISSION, roles.CONSORTIUM_ADMIN})
KINDS = {
    "人员": rules.STAFF,
    "机构": rules.INSTITUTION,
    "staff": rules.STAFF,
    "institution": rules.INSTITUTION,
}


def _supervisor(actor: Actor) -> None:
    if not actor.subject.may(SUPERVISORS):
        raise Forbidden(
            "只有卫健局或医共体可以维护不良执业记分", "Only the commission or the consortium records points"
        )


def policy(session: Session) -> rules.Policy:
    row = session.scalar(select(ConductPolicy).order_by(ConductPolicy.id.desc()))
    return rules.Policy(row.threshold, row.expiry_days, row.appeal_days) if row else rules.Policy()


def do_set_policy(session: Session, *, actor: Actor, new: rules.Policy) -> None:
    _supervisor(actor)
    rules.check_policy(new)
    session.add(
        ConductPolicy(
            threshold=new.threshold,
            expiry_days=new.expiry_days,
            appeal_days=new.appeal_days,
            set_at=actor.clock.now(),
            set_by=actor.subject.user_id,
        )
    )
    session.flush()
    record_blacklistings(session, staff_ids=None)


def do_import_offences(session: Session, *, actor: Actor, filename: str, data: bytes) -> int:
    """代码, 名称, 分值, 对象(人员/机构): adds or updates the catalogue; all rows or none."""
    _supervisor(actor)
    aliases = {
        "代码": "code",
        "名称": "name",
        "分值": "points",
        "对象": "applies_to",
        "code": "code",
        "name": "name",
        "points": "points",
        "applies_to": "applies_to",
    }
    rows = read_rows(filename, data, aliases)
    errors = []
    for number, row in enumerate(rows, start=2):
        if not row.get("code") or not row.get("name"):
            errors.append(FieldError("代码", "缺少代码或名称", "code or name is missing", number))
        if not row.get("points", "").isdigit() or int(row["points"]) <= 0:
            errors.append(
                FieldError("分值", "分值应为正整数", "points must be a positive whole number", number)
            )
        if row.get("applies_to", "") not in KINDS:
            errors.append(FieldError("对象", "对象应为“人员”或“机构”", "applies to 人员 or 机构", number))
    if errors:
        raise ValidationFailed.none_written(errors)
    for row in rows:
        offence = session.get(ConductOffence, row["code"]) or ConductOffence(code=row["code"])
        offence.name, offence.points, offence.applies_to = (
            row["name"],
            int(row["points"]),
            KINDS[row["applies_to"]],
        )
        session.add(offence)
    session.flush()
    return len(rows)


def do_record(
    session: Session,
    *,
    actor: Actor,
    offence_code: str,
    occurred_on: date,
    staff_id: int | None = None,
    institution_id: int | None = None,
    note: str = "",
) -> ConductRecord:
    _supervisor(actor)
    offence = session.get(ConductOffence, offence_code)
    errors = []
    if offence is None:
        errors.append(FieldError("offence_code", f"记分项“{offence_code}”不存在", "unknown offence"))
    elif (staff_id is None) == (institution_id is None) or (
        (offence.applies_to == rules.STAFF) != (staff_id is not None)
    ):
        errors.append(
            FieldError(
                "staff_id" if offence.applies_to == rules.STAFF else "institution_id",
                "该记分项针对" + ("医务人员" if offence.applies_to == rules.STAFF else "医疗卫生机构"),
                f"this offence applies to {offence.applies_to}",
            )
        )
    if occurred_on > actor.clock.now().date():
        errors.append(FieldError("occurred_on", "发生日期不能晚于今天", "the date is in the future"))
    if errors:
        raise ValidationFailed(errors, "记分有误", "Invalid record")
    assert offence is not None
    record = ConductRecord(
        staff_id=staff_id,
        institution_id=institution_id,
        offence_code=offence.code,
        points=offence.points,
        occurred_on=occurred_on,
        note=note,
        recorded_at=actor.clock.now(),
        recorded_by=actor.subject.user_id,
        status=rules.ACTIVE,
    )
    session.add(record)
    session.flush()
    if record.staff_id is not None:
        record_blacklistings(session, staff_ids=[record.staff_id])
    actor.record_change(
        session, action="create", entity="conduct_record", entity_id=record.id, resident_id=None
    )
    return record


def do_appeal(session: Session, *, actor: Actor, record_id: int, reason: str) -> ConductRecord:
    """The institution concerned (its administrator) appeals within the period."""
    record = session.get(ConductRecord, record_id)
    if record is None:
        raise NotFound("记分记录", "record")
    concerned = record.institution_id or _home_institution(session, record.staff_id)
    if not (actor.subject.role == roles.INSTITUTION_ADMIN and actor.subject.institution_id == concerned):
        raise Forbidden(
            "只有被记分机构（或人员所在机构）的管理员可以申诉", "Only the institution concerned appeals"
        )
    rules.check_appeal(
        status=record.status,
        recorded_on=record.recorded_at.date(),
        today=actor.clock.now().date(),
        policy=policy(session),
        reason=reason,
    )
    record.status, record.appeal_reason, record.appealed_at = (
        rules.APPEALED,
        reason.strip(),
        actor.clock.now(),
    )
    session.flush()
    return record


def do_decide(session: Session, *, actor: Actor, record_id: int, overturn: bool) -> ConductRecord:
    _supervisor(actor)
    record = session.get(ConductRecord, record_id)
    if record is None:
        raise NotFound("记分记录", "record")
    if record.status != rules.APPEALED:
        raise ValidationFailed.one("status", "该记分没有待处理的申诉", "no pending appeal on this record")
    record.status = rules.OVERTURNED if overturn else rules.UPHELD
    record.decided_at, record.decided_by = actor.clock.now(), actor.subject.user_id
    session.flush()
    if record.staff_id is not None:
        record_blacklistings(session, staff_ids=[record.staff_id])
    return record


def _home_institution(session: Session, staff_id: int | None) -> int | None:
    return session.scalar(select(Staff.home_institution_id).where(Staff.id == staff_id)) if staff_id else None


@dataclass(frozen=True)
class Standing:
    points: int
    blacklisted: bool
    threshold: int


def standing(
    session: Session, *, today: date, staff_id: int | None = None, institution_id: int | None = None
) -> Standing:
    current = policy(session)
    column = ConductRecord.staff_id if staff_id is not None else ConductRecord.institution_id
    subject_id = staff_id if staff_id is not None else institution_id
    points = [
        rules.Point(p, on, status)
        for p, on, status in session.execute(
            select(ConductRecord.points, ConductRecord.occurred_on, ConductRecord.status).where(
                column == subject_id,
                ConductRecord.occurred_on >= rules.counted_since(today, current),
            )
        )
    ]
    total = rules.active_points(points, today, current)
    return Standing(total, total >= current.threshold, current.threshold)


def record_blacklistings(session: Session, *, staff_ids: Collection[int] | None) -> None:
    """Write the days these staff members (None: every one with points) stand on the blacklist under
    the current policy, in the transaction that changed their points or the policy: the fact the
    registry reads to refuse scheduling and postings. An appeal lodged changes nothing (the points
    stand until overturned)."""
    current = policy(session)
    points = conduct_repository.staff_points(session, staff_ids)
    periods = {staff_id: rules.blacklist_periods(own, current) for staff_id, own in points.items()}
    conduct_repository.replace_blacklistings(session, staff_ids, periods)
