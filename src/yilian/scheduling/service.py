"""Use cases of unified booking's supply: the yearly policy, schedules, sessions published with their
reserved slots, same-day extra slots, the release of reserved slots, the quota report and the
arrivals list. Booking a place and what happens to a booking afterwards is in `booking`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.encounters import icd10
from yilian.kit.errors import Forbidden, NotFound, ValidationFailed
from yilian.kit.tabular import write_xlsx
from yilian.models import BookingPolicy, Institution, Schedule, Slot
from yilian.registry import repository as registry_repository
from yilian.registry.service import refuse_blacklisted_staff
from yilian.residents.rules import age_on
from yilian.scheduling import repository, rules
from yilian.scheduling.booking import ARRIVAL_DESK
from yilian.scheduling.schemas import (
    ArrivalOut,
    ArrivalPage,
    DepartmentOption,
    ExtraSlotIn,
    PolicyIn,
    PublishIn,
    ReservedDay,
    ReservedSlot,
    ScheduleIn,
    SlotOut,
)

SCHEDULERS = frozenset({roles.INSTITUTION_ADMIN})


def policy_for(session: Session, institution: Institution, year: int) -> rules.QuotaPolicy:
    return _policy(session, institution.id, institution.level, year)


def _policy(session: Session, institution_id: int, level: str | None, year: int) -> rules.QuotaPolicy:
    return rules.quota_policy(year, level, repository.policy(session, institution_id, year))


def do_set_policy(
    session: Session,
    *,
    actor: Actor,
    data: PolicyIn,
    ceiling_permille: int = rules.DEFAULT_CEILING_PERMILLE,
) -> BookingPolicy:
    """Set a year's policy: the share rises on the previous year's until the commission's ceiling."""
    institution_id = _own_institution(actor)
    previous = repository.policy(session, institution_id, data.year - 1)
    policy = rules.QuotaPolicy(data.year, round(data.reserved_share * 10), data.release_hours, data.extra_cap)
    rules.check_policy(
        policy,
        rules.QuotaPolicy(previous.year, previous.reserved_permille) if previous else None,
        ceiling_permille,
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


def own_institution(actor: Actor) -> int:
    """The institution whose schedules and policy the actor keeps (403 for anyone else)."""
    return _own_institution(actor)


def do_create_schedule(session: Session, *, actor: Actor, data: ScheduleIn) -> Schedule:
    _own_institution(actor)
    scoping.named_institution_in_charge(session, actor.subject, "institution_id", data.institution_id)
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


def do_add_extra_slot(session: Session, *, actor: Actor, data: ExtraSlotIn) -> Slot:
    """当日加号: a grassroots doctor adds a same-day place within the schedule's cap."""
    schedule = repository.schedule_for_update(session, data.schedule_id)
    # A schedule of an institution the actor cannot read does not exist for them.
    institution = (
        None
        if schedule is None
        else scoping.readable_institution(session, actor.subject, schedule.institution_id)
    )
    if schedule is None or institution is None:
        raise ValidationFailed.one("schedule_id", "排班不存在", "no such schedule")
    own = registry_repository.institution(session, actor.subject.institution_id or 0)
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


def quota_report(
    session: Session,
    *,
    actor: Actor,
    start: date,
    end: date,
    ceiling_permille: int = rules.DEFAULT_CEILING_PERMILLE,
) -> list[dict[str, object]]:
    """Per county-level institution in scope: reserved share, grassroots use of it, released capacity,
    and the policy's share year by year against the commission's ceiling (001 §2.1 "逐年提高")."""
    from sqlalchemy import select

    scoping.subject_region(session, actor.subject)  # 403 for an account with no division
    scope = select(Institution.id).where(
        Institution.level.in_(tuple(rules.COUNTY_LEVELS)), scoping.institution_charge(actor.subject)
    )
    names = {i.id: i.name for i in session.scalars(select(Institution).where(Institution.id.in_(scope)))}
    trends = repository.policy_trends(session, list(names))
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
                "reserved_share_by_year": [
                    {"year": year, "reserved_share": permille / 10}
                    for year, permille in trends.get(institution_id, [])
                ],
                "reserved_share_ceiling": ceiling_permille / 10,
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


STATUS_LABELS = {"booked": "待到诊", "checked_in": "已到诊", "no_show": "爽约", "cancelled": "已取消"}
KIND_LABELS = {"clinic": "门诊", "exam": "检查", "bed": "住院床位"}
CHANNEL_LABELS = {"grassroots": "基层预约", "public": "居民自约"}
ARRIVAL_HEADER = [
    "预约时间",
    "科室",
    "号源",
    "患者",
    "性别",
    "年龄",
    "转出/预约机构",
    "预约途径",
    "转诊诊断",
    "状态",
]


def _desk(actor: Actor) -> int:
    if not actor.subject.may(ARRIVAL_DESK) or actor.subject.institution_id is None:
        raise Forbidden(
            "只有医疗机构的医生或管理员可以查看到诊名单", "Arrival lists are for institution staff"
        )
    return actor.subject.institution_id


def _arrival_out(row: Any, now: datetime, grace_days: int) -> ArrivalOut:
    refusal = rules.arrival_refusal(
        action="check_in", starts_at=row.starts_at, now=now, grace_days=grace_days
    )
    codes = [c for c in (row.referral_diagnoses or "").split(",") if c]
    return ArrivalOut(
        id=row.id,
        resident_id=row.resident_id,
        resident_name=row.resident_name,
        sex={"M": "男", "F": "女"}.get(row.sex, ""),
        age=age_on(row.birth_date, now.date()) if row.birth_date else None,
        starts_at=row.starts_at,
        department_name=row.department_name or "",
        schedule_name=row.schedule_name,
        schedule_kind_label=KIND_LABELS.get(row.schedule_kind, row.schedule_kind),
        sender_name=row.sender_name,
        channel_label=CHANNEL_LABELS.get(row.channel, row.channel),
        reserved=row.pool in (rules.RESERVED, rules.EXTRA),
        referral_id=row.referral_id,
        diagnosis_labels=[icd10.label(c) for c in codes],
        status=row.status,
        status_label=STATUS_LABELS.get(row.status, row.status),
        check_in_refusal=refusal[0] if row.status == "booked" and refusal else None,
        may_no_show=row.status == "booked" and now >= row.starts_at,
    )


def arrivals_page(
    session: Session,
    *,
    actor: Actor,
    day: date,
    department_id: int | None,
    status: str | None,
    offset: int,
    limit: int,
    grace_days: int,
) -> ArrivalPage:
    """The receiving desk's day one page at a time: its institution's bookings, each with whether it
    can be checked in now and why not; the patients' reads audited as a list."""
    institution_id = _desk(actor)
    rows, total = repository.arrivals(
        session,
        institution_id=institution_id,
        day=day,
        department_id=department_id,
        status=status,
        offset=offset,
        limit=limit,
    )
    actor.record_read(
        entity="booking",
        resident_ids=sorted({r.resident_id for r in rows}),
        action="list",
        detail=f"arrivals {day}",
    )
    now = actor.clock.now()
    return ArrivalPage(
        items=[_arrival_out(r, now, grace_days) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
        departments=[
            DepartmentOption(id=i, name=n)
            for i, n in repository.arrival_departments(session, institution_id=institution_id)
        ],
    )


def arrivals_export(
    session: Session, *, actor: Actor, day: date, department_id: int | None, status: str | None
) -> bytes:
    """The whole filtered day as Excel, audited as an export."""
    institution_id = _desk(actor)
    rows, _ = repository.arrivals(
        session, institution_id=institution_id, day=day, department_id=department_id, status=status
    )
    actor.record_read(
        entity="booking",
        resident_ids=sorted({r.resident_id for r in rows}),
        action="export",
        detail=f"arrivals {day}",
    )
    now = actor.clock.now()
    out = [_arrival_out(r, now, 0) for r in rows]
    return write_xlsx(
        ARRIVAL_HEADER,
        (
            [
                f"{a.starts_at:%Y-%m-%d %H:%M}",
                a.department_name,
                a.schedule_name,
                a.resident_name,
                a.sex,
                a.age,
                a.sender_name or "",
                a.channel_label,
                "；".join(a.diagnosis_labels),
                a.status_label,
            ]
            for a in out
        ),
        title=f"{day}到诊",
    )


# Who books into a county institution's reserved pool: grassroots doctors for their patients (001 §2.1).
POOL_READERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN})


def _pool_window(
    session: Session, actor: Actor, institution_id: int
) -> tuple[Institution, datetime, datetime]:
    """The institution, and the period a grassroots booker may book in: from the release time of
    slots starting now (earlier slots are public already) to the priority booking window's end."""
    if not actor.subject.may(POOL_READERS):
        raise Forbidden("当前角色不能查看预留号源", "Your role cannot see reserved places")
    institution = registry_repository.institution(session, institution_id)
    if institution is None:
        raise NotFound("机构", "Institution")
    now = actor.clock.now()
    policy = policy_for(session, institution, now.year)
    start = now + timedelta(hours=policy.release_hours)
    end = datetime.combine(now.date() + timedelta(days=rules.PRIORITY_WINDOW_DAYS + 1), datetime.min.time())
    return institution, start, end


def reserved_days(
    session: Session, *, actor: Actor, institution_id: int, department_id: int | None
) -> list[ReservedDay]:
    """Per day (and department), the reserved places a grassroots referral can still book."""
    _, start, end = _pool_window(session, actor, institution_id)
    rows = repository.reserved_days(
        session, institution_id=institution_id, department_id=department_id, start=start, end=end
    )
    names = _department_names(session, {d for _, d, _ in rows if d is not None})
    return [
        ReservedDay(day=d, department_id=dep, department_name=names.get(dep), free=n) for d, dep, n in rows
    ]


def reserved_slots(
    session: Session, *, actor: Actor, institution_id: int, department_id: int | None, day: date
) -> list[ReservedSlot]:
    """One day's free reserved slots (those not yet released to the public)."""
    _, start, end = _pool_window(session, actor, institution_id)
    day_start = max(start, datetime.combine(day, datetime.min.time()))
    day_end = min(end, datetime.combine(day + timedelta(days=1), datetime.min.time()))
    rows = repository.reserved_slots(
        session, institution_id=institution_id, department_id=department_id, start=day_start, end=day_end
    )
    names = _department_names(session, {d for _, d, _ in rows if d is not None})
    return [
        ReservedSlot(
            id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            department_id=dep,
            department_name=names.get(dep),
            schedule_name=name,
            free=slot.capacity - slot.booked,
        )
        for slot, dep, name in rows
    ]


def _department_names(session: Session, ids: set[int]) -> dict[int | None, str]:
    return repository.department_names(session, ids)
