"""Use cases of two-way referral: request (with a reserved slot in one step), decide, arrive, close."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.encounters import icd10
from yilian.encounters.rules import ICD10
from yilian.indicators.service import targets as indicator_targets
from yilian.kit import stats
from yilian.kit.errors import FieldError, Forbidden, NotFound, ValidationFailed
from yilian.models import FollowUpTask, Referral, ReferralEvent
from yilian.referral import repository, rules
from yilian.referral.schemas import ReferralFigures, ReferralIn, ReferralOut
from yilian.registry import repository as registry_repository
from yilian.residents.service import access_resident
from yilian.scheduling import repository as scheduling_repository
from yilian.scheduling.booking import do_book_slot
from yilian.scheduling.schemas import BookingIn

REFERRERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN})
DOWNWARD_FOLLOW_UP_DAYS = 14


def referral_out(session: Session, referral: Referral) -> ReferralOut:
    """One referral as shown (a list shows a page with `referrals_out`)."""
    return referrals_out(session, [referral])[0]


def referrals_out(session: Session, referrals: Sequence[Referral]) -> list[ReferralOut]:
    """Referrals as shown, with their related rows loaded for the whole page at once."""
    related = repository.related(session, referrals)
    return [_out(r, related[r.id]) for r in referrals]


def _out(referral: Referral, related: repository.Related) -> ReferralOut:
    codes = referral.diagnoses.split(",")
    return ReferralOut(
        id=referral.id,
        resident_id=referral.resident_id,
        resident_name=related.resident_name,
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
        booking_id=related.booking_id,
        follow_up_due_on=related.follow_up_due_on,
        from_institution_name=related.from_institution_name,
        to_institution_name=related.to_institution_name,
        to_department_name=related.to_department_name,
        diagnosis_labels=[icd10.label(c) for c in codes],
        booked_at=related.booked_at,
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
    inside = repository.share_consortium(session, origin.id, target.id)
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
        slot = scheduling_repository.slot(session, data.slot_id)
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
    referral = repository.get(session, referral_id)
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


def inbox_page(
    session: Session, *, actor: Actor, box: str, status: str | None, offset: int, limit: int
) -> tuple[int, list[Referral]]:
    """One page of a box, newest first, and the size of the whole filtered box."""
    institution_id = actor.subject.institution_id
    if institution_id is None:
        raise Forbidden()
    if status and status not in rules.LABELS:
        raise ValidationFailed.one("status", "转诊状态无效", "unknown referral status")
    total, rows = repository.box(
        session,
        actor.subject,
        institution_id=institution_id,
        incoming=box == "incoming",
        status=status or None,
        offset=offset,
        limit=limit,
    )
    actor.record_read(
        entity="referral",
        resident_ids=sorted({r.resident_id for r in rows}),
        action="list",
        detail=f"referrals {box}",
    )
    return total, rows


def resident_referrals(
    session: Session, *, actor: Actor, resident_id: int, offset: int = 0, limit: int | None = None
) -> tuple[int, list[Referral]]:
    """A resident's referrals, newest first (the record's history; the phone page reads the same list)."""
    resident = access_resident(session, actor, resident_id)
    return repository.of_resident(session, actor.subject, resident.id, offset=offset, limit=limit)


def _median_hours(durations: repository.Durations) -> float | None:
    return round(stats.median_of_ranked(durations.hours_at, durations.count), 2) if durations.count else None


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
    if institution_id is not None:
        # One institution's figures: 404 outside the county, 403 inside it but not the caller's.
        scoping.institution_in_charge(session, actor.subject, institution_id)
    scope = repository.figures_scope(actor.subject, institution_id)
    in_scope = repository.in_figures(scope, low, high)
    by = repository.by_direction_and_status(session, in_scope)
    by_status: dict[str, int] = {}
    for (_, status), n in by.items():
        by_status[status] = by_status.get(status, 0) + n
    decided = sum(n for s, n in by_status.items() if s not in (rules.REQUESTED, rules.WITHDRAWN))
    accepted = decided - by_status.get(rules.REJECTED, 0)
    # Percentiles picked by the database (the median's one or two middle rows, the 90th's nearest
    # rank), the same numbers as `statistics.median` and `kit.stats.percentile` over every row.
    waits = repository.durations(
        session,
        start=Referral.requested_at,
        end=Referral.decided_at,
        where=in_scope,
        within_micros=rules.longest_within(decision_target_hours),
        ranks=lambda n: (*stats.median_ranks(n), stats.nearest_rank(n, 0.9)),
    )
    to_arrival = repository.durations(
        session, start=Referral.decided_at, end=Referral.arrived_at, where=in_scope, ranks=stats.median_ranks
    )
    overdue = repository.overdue_follow_ups(session, in_scope, actor.clock.now().date())
    up = sum(n for (d, _), n in by.items() if d == rules.UP)
    outside = repository.upward_outside_consortium(session, in_scope)
    visits = repository.county_outpatient_visits(session, scope, start, end)
    referral_bookings = repository.referral_bookings(session, scope, start, end)
    share = round(referral_bookings / visits, 4) if visits else None
    target = indicator_targets()["referral_booking_share"]
    return ReferralFigures(
        start=start,
        end=end,
        up=up,
        down=sum(by.values()) - up,
        by_status=by_status,
        acceptance_rate=round(accepted / decided, 4) if decided else None,
        median_hours_to_decision=_median_hours(waits),
        p90_hours_to_decision=(
            round(waits.hours_at[stats.nearest_rank(waits.count, 0.9)], 2) if waits.count else None
        ),
        decision_target_hours=decision_target_hours,
        decided_within_target_share=round(waits.within / waits.count, 4) if waits.count else None,
        median_hours_accepted_to_arrival=_median_hours(to_arrival),
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
