"""Booking a place, and what happens to a booking afterwards: book (checked, atomic, idempotent),
cancel, check in, mark a no-show — each with its history event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.kit.dates import age_on
from yilian.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.models import Booking, BookingEvent
from yilian.residents.service import access_resident
from yilian.scheduling import places, repository, rules
from yilian.scheduling.schemas import BookingIn, BookingOut

BOOKERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN, roles.RESIDENT})
# Arrival and no-show are facts the receiving desk records, never the patient or the booker.
ARRIVAL_DESK = frozenset({roles.DOCTOR, roles.INSTITUTION_ADMIN})
ARRIVAL_ACTIONS = frozenset({"check_in", "no_show"})
TRANSITIONS = {
    "cancel": ({"booked"}, "cancelled"),
    "check_in": ({"booked"}, "checked_in"),
    "no_show": ({"booked"}, "no_show"),
}


def do_book_slot(
    session: Session, *, actor: Actor, data: BookingIn, idempotency_key: str | None
) -> BookingOut:
    """Book one place: checked, then taken by one conditional UPDATE; the same key books once.

    The facts come in one query (`repository.booking_facts`); the rules are the pure ones in `rules`."""
    subject = actor.subject
    if not subject.may(BOOKERS):
        raise Forbidden("当前角色不能预约", "Your role cannot book")
    now = actor.clock.now()
    today = now.date()
    slot = repository.booking_facts(
        session,
        subject=subject,
        slot_id=data.slot_id,
        resident_id=data.resident_id,
        idempotency_key=idempotency_key,
        today=today,
        referral_id=data.referral_id,
    )
    earlier_id = slot.earlier_booking_id if slot is not None else None
    if idempotency_key and (slot is None or earlier_id is not None):
        earlier = repository.booking_by_key(session, idempotency_key)
        if earlier is not None:
            return _replay(session, earlier, data)
    if slot is None:
        raise ValidationFailed.one("slot_id", "号源不存在", "no such slot")
    if slot.visible_resident_id is None:
        raise NotFound("居民", "Resident")
    actor.record_read(entity="resident", resident_ids=[data.resident_id])
    if slot.resident_status != "active":
        raise ValidationFailed.one(
            "resident_id", "该居民档案已合并或注销", "resident record is merged or closed"
        )
    resident_id = data.resident_id
    if data.referral_id is not None and slot.referral_resident_id != resident_id:
        raise ValidationFailed.one(
            "referral_id", "转诊单不存在或不属于该居民", "no such referral for this resident"
        )
    booker = rules.Booker(
        via_grassroots=bool(subject.role != roles.RESIDENT and slot.own_grassroots),
        signed=bool(slot.signed),
        chronic_referral=rules.is_chronic_referral(
            referral_direction=slot.referral_direction, chronic_registered=bool(slot.chronic_registered)
        ),
        age=age_on(slot.birth_date, today),
    )
    policy = rules.quota_policy(slot.starts_at.year, slot.institution_level, slot)  # read with the slot
    rules.check_bookable(
        pool=slot.pool,
        starts_at=slot.starts_at,
        published=slot.published,
        now=now,
        release_hours=policy.release_hours,
        booker=booker,
        capacity=slot.capacity,
        booked=slot.booked,
    )
    pool_used = rules.effective_pool(slot.pool, slot.starts_at, now, policy.release_hours)
    booking = {
        "slot_id": slot.id,
        "resident_id": resident_id,
        "booked_by_user_id": actor.subject.user_id,
        "channel": "grassroots" if booker.via_grassroots else "public",
        "pool": pool_used,
        "status": "booked",
        "resource_key": f"d{slot.department_id}" if slot.department_id else f"s{slot.schedule_id}",
        "session_date": slot.starts_at.date(),
        "session_half": "am" if slot.starts_at.hour < 12 else "pm",
        "idempotency_key": idempotency_key,
        "referral_id": data.referral_id,
        "created_at": now,
        "updated_at": now,
    }
    try:
        booking_id = places.book_place(
            session,
            booking,
            via_grassroots=booker.via_grassroots,
            released_before=now + timedelta(hours=policy.release_hours),
        )
    except places.PlaceTaken:
        raise Conflict(
            "号源已被他人约满",
            "Someone else took the last place",
            [FieldError("slot_id", "号源已约满", "the slot is fully booked")],
        ) from None
    except places.AlreadyBooked:
        if idempotency_key and (earlier := repository.booking_by_key(session, idempotency_key)) is not None:
            return _replay(session, earlier, data)  # a concurrent retry with the same key won
        raise Conflict(
            "该居民在同一科室同一时段已有预约",
            "The resident already has a booking in this department and session",
            [FieldError("slot_id", "同一科室同一时段重复预约", "duplicate booking")],
        ) from None
    actor.record_change(
        session, action="create", entity="booking", entity_id=booking_id, resident_id=resident_id
    )
    return BookingOut(
        id=booking_id,
        slot_id=slot.id,
        resident_id=resident_id,
        status="booked",
        channel=booking["channel"],
        pool=pool_used,
        starts_at=slot.starts_at,
    )


def _replay(session: Session, earlier: Any, data: BookingIn) -> BookingOut:
    if earlier.slot_id != data.slot_id or earlier.resident_id != data.resident_id:
        raise Conflict(
            "该幂等键已用于另一笔预约",
            "This idempotency key was used for another booking",
            [FieldError("Idempotency-Key", "幂等键冲突", "key reused for a different booking")],
        )
    slot = repository.slot(session, earlier.slot_id)
    assert slot is not None
    return BookingOut(
        id=earlier.id,
        slot_id=earlier.slot_id,
        resident_id=earlier.resident_id,
        status=earlier.status,
        channel=earlier.channel,
        pool=earlier.pool,
        starts_at=slot.starts_at,
        created=False,
    )


def do_change_booking(
    session: Session, *, actor: Actor, booking_id: int, action: str, arrival_grace_days: int = 0
) -> Booking:
    """Cancel (gives the place back), check in (on the appointment's day), or mark a no-show — with
    history."""
    booking = repository.booking(session, booking_id)
    if booking is None:
        raise NotFound("预约", "Booking")
    access_resident(session, actor, booking.resident_id)
    allowed, target = TRANSITIONS[action]
    now = actor.clock.now()
    slot = repository.slot(session, booking.slot_id)
    assert slot is not None
    if action in ARRIVAL_ACTIONS and not (
        actor.subject.may(ARRIVAL_DESK) and actor.subject.institution_id == slot.institution_id
    ):
        raise Forbidden(
            "只有接诊机构的医生或管理员可以登记到诊或爽约",
            "Only staff of the receiving institution record arrivals and no-shows",
        )
    if booking.status not in allowed:
        raise ValidationFailed.one(
            "status", f"预约状态为{booking.status}，不能{action}", f"booking is {booking.status}"
        )
    if action in ARRIVAL_ACTIONS:
        rules.check_arrival(action=action, starts_at=slot.starts_at, now=now, grace_days=arrival_grace_days)
    if action == "cancel":
        if slot.starts_at <= now:
            raise ValidationFailed.one("status", "已过就诊时间，不能取消", "the appointment time has passed")
        places.give_back_place(session, slot.id)
    booking.status, booking.updated_at = target, now
    session.add(BookingEvent(booking_id=booking.id, at=now, status=target, user_id=actor.subject.user_id))
    session.flush()
    actor.record_change(
        session,
        action="update",
        entity="booking",
        entity_id=booking.id,
        resident_id=booking.resident_id,
        detail=target,
    )
    return booking
