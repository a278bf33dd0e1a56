"""Use cases of unified booking: publish sessions with reserved slots, book atomically and idempotently,
cancel, check in, mark no-shows, add same-day extra slots, set the yearly policy."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.evaluation.conduct_service import refuse_blacklisted_staff
from yilian.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from yilian.models import Booking, BookingEvent, BookingPolicy, ConsortiumMember, Institution, Schedule, Slot
from yilian.registry import repository as registry_repository
from yilian.residents.rules import age_on
from yilian.residents.service import access_resident
from yilian.scheduling import places, repository, rules
from yilian.scheduling.schemas import (
    BookingIn,
    BookingOut,
    ExtraSlotIn,
    PolicyIn,
    PublishIn,
    ScheduleIn,
    SlotOut,
)

SCHEDULERS = frozenset({roles.INSTITUTION_ADMIN})
# Arrival and no-show are facts the receiving desk records, never the patient or the booker.
ARRIVAL_DESK = frozenset({roles.DOCTOR, roles.INSTITUTION_ADMIN})
ARRIVAL_ACTIONS = frozenset({"check_in", "no_show"})
BOOKERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN, roles.RESIDENT})
TRANSITIONS = {
    "cancel": ({"booked"}, "cancelled"),
    "check_in": ({"booked"}, "checked_in"),
    "no_show": ({"booked"}, "no_show"),
}


def policy_for(session: Session, institution: Institution, year: int) -> rules.QuotaPolicy:
    return _policy(session, institution.id, institution.level, year)


def _policy(session: Session, institution_id: int, level: str | None, year: int) -> rules.QuotaPolicy:
    row = repository.policy(session, institution_id, year)
    return _quota_policy(year, level, row.reserved_permille if row else None, row)


def _policy_from(facts: Any) -> rules.QuotaPolicy:
    """The policy read along with a slot by `repository.booking_facts`."""
    stored = facts if facts.reserved_permille is not None else None
    return _quota_policy(facts.starts_at.year, facts.institution_level, facts.reserved_permille, stored)


def _quota_policy(year: int, level: str | None, reserved_permille: int | None, row: Any) -> rules.QuotaPolicy:
    """County-level institutions reserve (at least the default share); grassroots ones do not."""
    reserves = level in rules.COUNTY_LEVELS
    if row is None or reserved_permille is None:
        return rules.QuotaPolicy(year, rules.MIN_RESERVED_PERMILLE if reserves else 0)
    return rules.QuotaPolicy(year, reserved_permille if reserves else 0, row.release_hours, row.extra_cap)


def do_set_policy(session: Session, *, actor: Actor, data: PolicyIn) -> BookingPolicy:
    institution_id = _own_institution(actor)
    previous = repository.policy(session, institution_id, data.year - 1)
    policy = rules.QuotaPolicy(data.year, round(data.reserved_share * 10), data.release_hours, data.extra_cap)
    rules.check_policy(
        policy, rules.QuotaPolicy(previous.year, previous.reserved_permille) if previous else None
    )
    row = repository.policy(session, institution_id, data.year)
    if row is None or row.year != data.year:
        row = BookingPolicy(
            institution_id=institution_id, year=data.year, reserved_permille=0, release_hours=0, extra_cap=0
        )
        session.add(row)
    row.reserved_permille, row.release_hours, row.extra_cap = (
        policy.reserved_permille,
        data.release_hours,
        data.extra_cap,
    )
    session.flush()
    return row


def _own_institution(actor: Actor) -> int:
    if not actor.subject.may(SCHEDULERS) or actor.subject.institution_id is None:
        raise Forbidden(
            "只有机构管理员可以维护排班和号源", "Only institution administrators maintain schedules"
        )
    return actor.subject.institution_id


def do_create_schedule(session: Session, *, actor: Actor, data: ScheduleIn) -> Schedule:
    if _own_institution(actor) != data.institution_id:
        raise Forbidden("只能维护本机构的排班", "You maintain your own institution's schedules only")
    refuse_blacklisted_staff(session, data.staff_id, actor.clock.now().date(), "排班", "scheduled")
    schedule = Schedule(**data.model_dump())
    session.add(schedule)
    session.flush()
    return schedule


def do_publish_session(session: Session, *, actor: Actor, schedule_id: int, data: PublishIn) -> list[Slot]:
    """Publish a session's slots; the policy's share (≥ 20 % at county level) is reserved, spread out."""
    schedule = repository.schedule(session, schedule_id)
    if schedule is None or schedule.institution_id != _own_institution(actor):
        raise NotFound("排班", "Schedule")
    institution = registry_repository.institution(session, schedule.institution_id)
    assert institution is not None
    if data.day < actor.clock.now().date():
        raise ValidationFailed.one("day", "不能发布过去日期的号源", "cannot publish a past session")
    refuse_blacklisted_staff(session, schedule.staff_id, actor.clock.now().date(), "排班", "scheduled")
    policy = policy_for(session, institution, data.day.year)
    start = datetime.combine(data.day, data.start)
    if schedule.kind == "bed":
        slots = _bed_slots(schedule, start, data, policy)
    else:
        reserved = set(rules.reserved_positions(data.count, policy.reserved_permille))
        slots = [
            Slot(
                schedule_id=schedule.id,
                institution_id=schedule.institution_id,
                starts_at=start + timedelta(minutes=i * data.minutes),
                ends_at=start + timedelta(minutes=(i + 1) * data.minutes),
                pool=rules.RESERVED if i in reserved else rules.PUBLIC,
                capacity=data.capacity,
                booked=0,
                published=True,
            )
            for i in range(data.count)
        ]
    session.add_all(slots)
    session.flush()
    return slots


def _bed_slots(schedule: Schedule, start: datetime, data: PublishIn, policy: rules.QuotaPolicy) -> list[Slot]:
    """A bed session is a ward's admission day: `count` beds open for booking, admitted from `start`
    within `minutes`; one place per bed, the reserved share of beds in its own slot."""
    return [
        Slot(
            schedule_id=schedule.id,
            institution_id=schedule.institution_id,
            starts_at=start,
            ends_at=start + timedelta(minutes=data.minutes),
            pool=pool,
            capacity=places,
            booked=0,
            published=True,
        )
        for pool, places in rules.bed_pools(data.count, policy.reserved_permille)
    ]


def slot_out(slot: Slot, now: datetime, release_hours: int) -> SlotOut:
    return SlotOut(
        id=slot.id,
        schedule_id=slot.schedule_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        pool=slot.pool,
        effective_pool=rules.effective_pool(slot.pool, slot.starts_at, now, release_hours),
        capacity=slot.capacity,
        booked=slot.booked,
    )


def do_book_slot(
    session: Session, *, actor: Actor, data: BookingIn, idempotency_key: str | None
) -> BookingOut:
    """Book one place: checked, then taken by one conditional UPDATE; the same key books once.

    The facts come in one prebuilt query (decision 0011); the rules are the pure ones in `rules`."""
    subject = actor.subject
    if not subject.may(BOOKERS):
        raise Forbidden("当前角色不能预约", "Your role cannot book")
    now = actor.clock.now()
    today = now.date()
    places.begin_booking(session)
    slot = repository.booking_facts(
        session,
        subject=subject,
        slot_id=data.slot_id,
        resident_id=data.resident_id,
        idempotency_key=idempotency_key,
        today=today,
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
    booker = rules.Booker(
        via_grassroots=bool(subject.role != roles.RESIDENT and slot.own_grassroots),
        signed=bool(slot.signed),
        chronic_referral=data.referral_id is not None,
        age=age_on(slot.birth_date, today),
    )
    policy = _policy_from(slot)
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


def do_change_booking(session: Session, *, actor: Actor, booking_id: int, action: str) -> Booking:
    """Cancel (gives the place back), check in, or mark a no-show — with history."""
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


def do_add_extra_slot(session: Session, *, actor: Actor, data: ExtraSlotIn) -> Slot:
    """当日加号: a grassroots doctor adds a same-day place within the schedule's cap."""
    schedule = repository.schedule_for_update(session, data.schedule_id)
    if schedule is None:
        raise ValidationFailed.one("schedule_id", "排班不存在", "no such schedule")
    institution = registry_repository.institution(session, schedule.institution_id)
    own = registry_repository.institution(session, actor.subject.institution_id or 0)
    assert institution is not None
    policy = policy_for(session, institution, data.starts_at.year)
    rules.check_extra_slot(
        session_day=data.starts_at.date(),
        today=actor.clock.now().date(),
        existing_extra=repository.extra_slots_on(session, schedule.id, data.starts_at.date()),
        cap=policy.extra_cap,
        via_grassroots=bool(own and own.is_grassroots),
    )
    slot = Slot(
        schedule_id=schedule.id,
        institution_id=schedule.institution_id,
        starts_at=data.starts_at,
        ends_at=data.starts_at + timedelta(minutes=data.minutes),
        pool=rules.EXTRA,
        capacity=1,
        booked=0,
        published=True,
    )
    session.add(slot)
    session.flush()
    return slot


def quota_report(session: Session, *, actor: Actor, start: date, end: date) -> list[dict[str, object]]:
    """Per county-level institution in scope: reserved share, grassroots use of it, released capacity."""
    from sqlalchemy import select

    subject = actor.subject
    scope = select(Institution.id).where(Institution.level.in_(tuple(rules.COUNTY_LEVELS)))
    if subject.region_code:
        scope = scope.where(Institution.region_code.between(*roles.region_range(subject.region_code)))
    elif subject.consortium_id:
        scope = scope.where(
            Institution.id.in_(
                select(ConsortiumMember.institution_id).where(
                    ConsortiumMember.consortium_id == subject.consortium_id
                )
            )
        )
    elif subject.institution_id:
        scope = scope.where(Institution.id == subject.institution_id)
    else:
        raise Forbidden()
    names = {i.id: i.name for i in session.scalars(select(Institution).where(Institution.id.in_(scope)))}
    report = []
    for institution_id, slots, reserved, used, released in repository.quota_use(
        session, institution_ids=list(names), start=start, end=end
    ):
        use = rules.QuotaUse(
            slots=slots, reserved=reserved, reserved_used_by_grassroots=used, released=released
        )
        report.append(
            {
                "institution_id": institution_id,
                "institution": names[institution_id],
                "slots": slots,
                "reserved": reserved,
                "reserved_share": use.reserved_share,
                "reserved_used_by_grassroots": used,
                "grassroots_use_of_reserved": use.grassroots_use_of_reserved,
                "released": released,
            }
        )
    return report


def do_release_reserved(session: Session, *, now: datetime) -> int:
    """Give free reserved slots past their release time back to the public pool (a periodic job)."""
    from sqlalchemy import select

    hours = {}
    for institution in session.scalars(
        select(Institution).where(Institution.level.in_(tuple(rules.COUNTY_LEVELS)))
    ):
        hours[institution.id] = policy_for(session, institution, now.year).release_hours
    return repository.release_reserved(session, now=now, release_hours_by_institution=hours)


def arrivals(session: Session, *, actor: Actor, day: date, schedule_id: int | None = None) -> list[Any]:
    """The receiving desk's day: its institution's bookings, the patients' reads audited as a list."""
    if not actor.subject.may(ARRIVAL_DESK) or actor.subject.institution_id is None:
        raise Forbidden(
            "只有医疗机构的医生或管理员可以查看到诊名单", "Arrival lists are for institution staff"
        )
    rows = repository.arrivals(
        session, institution_id=actor.subject.institution_id, day=day, schedule_id=schedule_id
    )
    actor.record_read(
        entity="booking",
        resident_ids=sorted({r.resident_id for r in rows}),
        action="list",
        detail=f"arrivals {day}",
    )
    return rows
