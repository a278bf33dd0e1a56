"""Use cases of two-way referral: request (with a reserved slot in one step), decide, arrive, close."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import median

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.encounters import icd10
from yilian.encounters.rules import ICD10
from yilian.indicators.service import targets as indicator_targets
from yilian.kit.errors import FieldError, Forbidden, NotFound, ValidationFailed
from yilian.models import (
    Booking,
    ConsortiumMember,
    Department,
    Encounter,
    FollowUpTask,
    Institution,
    Referral,
    ReferralEvent,
    Resident,
    Schedule,
    Slot,
)
from yilian.referral import rules
from yilian.referral.schemas import ReferralFigures, ReferralIn, ReferralOut
from yilian.registry import repository as registry_repository
from yilian.residents.service import access_resident
from yilian.scheduling.booking import do_book_slot
from yilian.scheduling.schemas import BookingIn

REFERRERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN})
DOWNWARD_FOLLOW_UP_DAYS = 14


def _share_consortium(session: Session, a: int, b: int) -> bool:
    mine = select(ConsortiumMember.consortium_id).where(ConsortiumMember.institution_id == a)
    return bool(
        session.scalar(
            select(func.count())
            .select_from(ConsortiumMember)
            .where(ConsortiumMember.institution_id == b, ConsortiumMember.consortium_id.in_(mine))
        )
    )


def referral_out(session: Session, referral: Referral) -> ReferralOut:
    resident = session.get(Resident, referral.resident_id)
    booked = session.execute(
        select(Booking.id, Slot.starts_at)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Booking.referral_id == referral.id)
        .order_by(Booking.id)
        .limit(1)
    ).first()
    origin = session.get(Institution, referral.from_institution_id)
    target = session.get(Institution, referral.to_institution_id)
    department = (
        session.get(Department, referral.to_department_id) if referral.to_department_id is not None else None
    )
    codes = referral.diagnoses.split(",")
    due = session.scalar(select(FollowUpTask.due_on).where(FollowUpTask.referral_id == referral.id))
    return ReferralOut(
        id=referral.id,
        resident_id=referral.resident_id,
        resident_name=resident.name if resident else "",
        direction=referral.direction,
        from_institution_id=referral.from_institution_id,
        to_institution_id=referral.to_institution_id,
        status=referral.status,
        status_label=rules.LABELS[referral.status],
        inside_consortium=referral.inside_consortium,
        reason=referral.reason,
        diagnoses=codes,
        summary=referral.summary,
        requested_at=referral.requested_at,
        decided_at=referral.decided_at,
        booking_id=booked[0] if booked else None,
        follow_up_due_on=due,
        from_institution_name=origin.name if origin else "",
        to_institution_name=target.name if target else "",
        to_department_name=department.name if department else None,
        diagnosis_labels=[icd10.label(c) for c in codes],
        booked_at=booked[1] if booked else None,
        urgency=referral.urgency,
        urgency_label=rules.URGENCY_LABELS.get(referral.urgency or ""),
    )


def do_request_referral(
    session: Session, *, actor: Actor, data: ReferralIn, idempotency_key: str | None = None
) -> Referral:
    """Refer a patient up or down; an upward referral may book a (reserved) slot in the same step."""
    subject = actor.subject
    if not subject.may(REFERRERS) or subject.institution_id is None:
        raise Forbidden("当前角色不能发起转诊", "Your role cannot refer patients")
    origin = registry_repository.institution(session, subject.institution_id)
    target = registry_repository.institution(session, data.to_institution_id)
    if target is None:
        raise ValidationFailed.one(
            "to_institution_id", "接收机构不存在", "receiving institution does not exist"
        )
    assert origin is not None
    errors = [
        FieldError(f"diagnoses[{i}]", f"“{c}”不是有效的ICD-10编码", f"'{c}' is not an ICD-10 code")
        for i, c in enumerate(data.diagnoses)
        if not ICD10.match(c)
    ]
    if errors:
        raise ValidationFailed(errors, "转诊诊断有误", "Invalid diagnoses")
    rules.check_direction(direction=data.direction, from_level=origin.level, to_level=target.level)
    inside = _share_consortium(session, origin.id, target.id)
    rules.check_outside_consortium(inside=inside, reason=data.reason)
    resident = access_resident(session, actor, data.resident_id)
    now = actor.clock.now()
    referral = Referral(
        resident_id=resident.id,
        direction=data.direction,
        from_institution_id=origin.id,
        to_institution_id=target.id,
        to_department_id=data.to_department_id,
        status=rules.REQUESTED,
        inside_consortium=inside,
        reason=data.reason,
        diagnoses=",".join(data.diagnoses),
        summary=data.summary,
        urgency=data.urgency,
        attachments_json=json.dumps(data.attachments, ensure_ascii=False),
        requested_by_user_id=subject.user_id,
        requested_at=now,
    )
    session.add(referral)
    session.flush()
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            at=now,
            from_status=None,
            to_status=rules.REQUESTED,
            user_id=subject.user_id,
            note=data.reason,
        )
    )
    if data.slot_id is not None:
        if data.direction != rules.UP:
            raise ValidationFailed.one(
                "slot_id", "只有上转可以同时预约号源", "only upward referrals book a slot"
            )
        slot = session.get(Slot, data.slot_id)
        if slot is None or slot.institution_id != target.id:
            raise ValidationFailed.one(
                "slot_id", "号源不属于接收机构", "the slot is not at the receiving institution"
            )
        do_book_slot(
            session,
            actor=actor,
            data=BookingIn(slot_id=data.slot_id, resident_id=resident.id, referral_id=referral.id),
            idempotency_key=idempotency_key,
        )
    session.flush()
    actor.record_change(
        session, action="create", entity="referral", entity_id=referral.id, resident_id=resident.id
    )
    return referral


def access_referral(session: Session, actor: Actor, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None or actor.subject.institution_id not in (
        referral.from_institution_id,
        referral.to_institution_id,
    ):
        raise NotFound("转诊单", "Referral")
    access_resident(session, actor, referral.resident_id)
    return referral


def do_transition(
    session: Session, *, actor: Actor, referral_id: int, target: str, reason: str | None
) -> Referral:
    """Move a referral along the state machine; a downward referral that arrives creates a follow-up task."""
    referral = access_referral(session, actor, referral_id)
    side = "receiver" if actor.subject.institution_id == referral.to_institution_id else "sender"
    rules.check_transition(
        direction=referral.direction, current=referral.status, target=target, side=side, reason=reason
    )
    now = actor.clock.now()
    previous = referral.status
    referral.status = target
    if target in (rules.ACCEPTED, rules.REJECTED):
        referral.decided_at = now
    if target == rules.ARRIVED:
        referral.arrived_at = now
    if target in rules.TERMINAL:
        referral.closed_at = now
    if target == rules.FOLLOWED_UP:
        session.add(
            FollowUpTask(
                resident_id=referral.resident_id,
                institution_id=referral.to_institution_id,
                referral_id=referral.id,
                due_on=now.date() + timedelta(days=DOWNWARD_FOLLOW_UP_DAYS),
                content=f"下转康复随访：{referral.summary[:200]}",
                status="open",
            )
        )
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            at=now,
            from_status=previous,
            to_status=target,
            user_id=actor.subject.user_id,
            note=reason,
        )
    )
    session.flush()
    actor.record_change(
        session,
        action="update",
        entity="referral",
        entity_id=referral.id,
        resident_id=referral.resident_id,
        detail=f"{previous}→{target}",
    )
    return referral


def inbox(
    session: Session, *, actor: Actor, box: str, status: str | None = None, limit: int = 200
) -> list[Referral]:
    """incoming: referrals to the user's institution; outgoing: from it (the newest `limit`)."""
    return inbox_page(session, actor=actor, box=box, status=status, offset=0, limit=limit)[1]


def inbox_page(
    session: Session, *, actor: Actor, box: str, status: str | None, offset: int, limit: int
) -> tuple[int, list[Referral]]:
    """One page of a box, newest first, and the size of the whole filtered box."""
    institution_id = actor.subject.institution_id
    if institution_id is None:
        raise Forbidden()
    if status and status not in rules.LABELS:
        raise ValidationFailed.one("status", "转诊状态无效", "unknown referral status")
    column = Referral.to_institution_id if box == "incoming" else Referral.from_institution_id
    statement = select(Referral).where(column == institution_id)
    if status:
        statement = statement.where(Referral.status == status)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = list(
        session.scalars(
            statement.order_by(Referral.requested_at.desc(), Referral.id.desc()).offset(offset).limit(limit)
        )
    )
    actor.record_read(
        entity="referral",
        resident_ids=sorted({r.resident_id for r in rows}),
        action="list",
        detail=f"referrals {box}",
    )
    return total, rows


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def figures(
    session: Session,
    *,
    actor: Actor,
    start: date,
    end: date,
    institution_id: int | None = None,
    decision_target_hours: float = rules.DECISION_TARGET_HOURS,
) -> ReferralFigures:
    """Counts, acceptance, timeliness, out-of-consortium share, and the referral-booking share of a
    county-level institution's outpatients against its target (≥ 30 %, 001 二、(一), from the
    indicator catalogue with its clause)."""
    if not actor.subject.may(frozenset({roles.COMMISSION, roles.CONSORTIUM_ADMIN, roles.INSTITUTION_ADMIN})):
        raise Forbidden()
    low, high = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.max.time())
    scope = select(Institution.id).where(scoping.institution_charge(actor.subject))
    if institution_id is not None:
        # One institution's figures: 404 outside the county, 403 inside it but not the caller's.
        scoping.institution_in_charge(session, actor.subject, institution_id)
        scope = scope.where(Institution.id == institution_id)
    in_scope = and_(
        Referral.requested_at.between(low, high),
        or_(Referral.from_institution_id.in_(scope), Referral.to_institution_id.in_(scope)),
    )
    by = {
        (d, s): int(n)
        for d, s, n in session.execute(
            select(Referral.direction, Referral.status, func.count())
            .where(in_scope)
            .group_by(Referral.direction, Referral.status)
        )
    }
    by_status: dict[str, int] = {}
    for (_, status), n in by.items():
        by_status[status] = by_status.get(status, 0) + n
    decided = sum(n for s, n in by_status.items() if s not in (rules.REQUESTED, rules.WITHDRAWN))
    accepted = decided - by_status.get(rules.REJECTED, 0)
    waits = [
        (d - r).total_seconds() / 3600
        for r, d in session.execute(
            select(Referral.requested_at, Referral.decided_at).where(
                in_scope, Referral.decided_at.is_not(None)
            )
        )
        if d is not None
    ]
    to_arrival = [
        (arrived - decided).total_seconds() / 3600
        for decided, arrived in session.execute(
            select(Referral.decided_at, Referral.arrived_at).where(
                in_scope, Referral.arrived_at.is_not(None), Referral.decided_at.is_not(None)
            )
        )
        if arrived is not None and decided is not None
    ]
    overdue = (
        session.scalar(
            select(func.count())
            .select_from(FollowUpTask)
            .join(Referral, Referral.id == FollowUpTask.referral_id)
            .where(in_scope, FollowUpTask.status == "open", FollowUpTask.due_on < actor.clock.now().date())
        )
        or 0
    )
    up = sum(n for (d, _), n in by.items() if d == rules.UP)
    outside = (
        session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(in_scope, Referral.direction == rules.UP, Referral.inside_consortium.is_(False))
        )
        or 0
    )
    county = select(Institution.id).where(Institution.id.in_(scope), Institution.level.in_(("二级", "三级")))
    visits = (
        session.scalar(
            select(func.count())
            .select_from(Encounter)
            .where(
                Encounter.institution_id.in_(county),
                Encounter.kind == "outpatient",
                Encounter.start_date.between(start, end),
            )
        )
        or 0
    )
    # 预约转诊 among the hospital's outpatients: patients who came (checked in) to a clinic place a
    # grassroots doctor booked for them. Not an exam or a bed (not an outpatient visit), not a
    # booking still ahead, cancelled or not kept (no visit to compare with the visits counted).
    referral_bookings = (
        session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(Schedule, Schedule.id == Slot.schedule_id)
            .where(
                Slot.institution_id.in_(county),
                Schedule.kind == "clinic",
                Booking.channel == "grassroots",
                Booking.status == "checked_in",
                Booking.session_date.between(start, end),
            )
        )
        or 0
    )
    share = round(referral_bookings / visits, 4) if visits else None
    target = indicator_targets()["referral_booking_share"]
    return ReferralFigures(
        start=start,
        end=end,
        up=up,
        down=sum(by.values()) - up,
        by_status=by_status,
        acceptance_rate=round(accepted / decided, 4) if decided else None,
        median_hours_to_decision=round(median(waits), 2) if waits else None,
        p90_hours_to_decision=_hours(rules.percentile(waits, 0.9)),
        decision_target_hours=decision_target_hours,
        decided_within_target_share=rules.within_target_share(waits, decision_target_hours),
        median_hours_accepted_to_arrival=round(median(to_arrival), 2) if to_arrival else None,
        overdue_follow_ups=overdue,
        out_of_consortium_up=outside,
        out_of_consortium_share=round(outside / up, 4) if up else None,
        county_outpatient_visits=visits,
        referral_bookings=referral_bookings,
        referral_booking_share=share,
        referral_booking_target=float(target.target / 100),
        referral_booking_target_met=target.met(None if share is None else Decimal(str(share)) * 100),
        referral_booking_target_source=target.source,
    )
