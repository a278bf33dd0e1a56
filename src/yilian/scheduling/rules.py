"""Pure rules of unified booking (001 §2.1; 002 items 15, 17; 000 §9).

- County-level (二级 and above) institutions keep a share of every session's slots for bookings made
  by grassroots institutions and family doctors: at least 20 %, and each year's share above the year
  before (001 §2.1 "比例逐年提高") until it reaches the ceiling the commission sets.
- A reserved slot still free at its release time (default 24 h before it starts) goes back to the
  public pool.
- Grassroots doctors may add same-day extra slots up to a cap per session.
- Signed residents, registered chronic patients referred upward through the joint chronic clinic and
  residents aged 65+ (the green channel) may book further ahead than the public.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from yilian.kit.errors import ValidationFailed
from yilian.registry.rules import COUNTY_LEVELS

PUBLIC, RESERVED, EXTRA = "public", "reserved", "extra"
MIN_RESERVED_PERMILLE = 200
DEFAULT_CEILING_PERMILLE = 500  # the commission's ceiling when none is configured (Settings)
DEFAULT_RELEASE_HOURS = 24
DEFAULT_EXTRA_CAP = 5
PUBLIC_WINDOW_DAYS = 7
PRIORITY_WINDOW_DAYS = 14
GREEN_CHANNEL_AGE = 65


@dataclass(frozen=True)
class QuotaPolicy:
    """An institution's booking policy for one year."""

    year: int
    reserved_permille: int = MIN_RESERVED_PERMILLE
    release_hours: int = DEFAULT_RELEASE_HOURS
    extra_cap: int = DEFAULT_EXTRA_CAP


def quota_policy(year: int, level: str | None, stored: Any) -> QuotaPolicy:
    """The year's policy: the stored one (anything with reserved_permille, release_hours and
    extra_cap; None or a None share when the institution never set one), else the default.
    County-level institutions reserve (at least the default share); grassroots ones do not."""
    reserves = level in COUNTY_LEVELS
    if stored is None or stored.reserved_permille is None:
        return QuotaPolicy(year, MIN_RESERVED_PERMILLE if reserves else 0)
    return QuotaPolicy(
        year, stored.reserved_permille if reserves else 0, stored.release_hours, stored.extra_cap
    )


def check_policy(
    policy: QuotaPolicy, previous: QuotaPolicy | None, ceiling_permille: int = DEFAULT_CEILING_PERMILLE
) -> None:
    """≥ 20 % reserved and at most the commission's ceiling; above the previous year's share until
    that share has reached the ceiling, then the ceiling kept (001 §2.1: 20 %, "比例逐年提高")."""
    if not MIN_RESERVED_PERMILLE <= policy.reserved_permille <= 1000:
        raise ValidationFailed.one(
            "reserved_share",
            "预留给基层的号源比例不得低于20%",
            "the share reserved for grassroots bookings must be at least 20%",
        )
    ceiling = max(ceiling_permille, MIN_RESERVED_PERMILLE)
    if policy.reserved_permille > ceiling:
        raise ValidationFailed.one(
            "reserved_share",
            f"预留比例不得高于卫生健康委设定的上限{ceiling / 10:g}%",
            f"the share cannot exceed the commission's ceiling of {ceiling / 10:g}%",
        )
    if previous is not None and previous.year < policy.year:
        wanted = min(previous.reserved_permille + 1, ceiling)  # above last year's, or the ceiling
        if policy.reserved_permille < wanted:
            at_ceiling = wanted == ceiling and previous.reserved_permille >= ceiling
            raise ValidationFailed.one(
                "reserved_share",
                f"{policy.year}年预留比例应保持上限{ceiling / 10:g}%"
                if at_ceiling
                else f"{policy.year}年预留比例应高于{previous.year}年的{previous.reserved_permille / 10:g}%"
                f"（逐年提高，上限{ceiling / 10:g}%）",
                f"the {policy.year} share must stay at the {ceiling / 10:g}% ceiling"
                if at_ceiling
                else f"the {policy.year} share must be above {previous.year}'s "
                f"{previous.reserved_permille / 10:g}% (rising yearly up to {ceiling / 10:g}%)",
            )
    if policy.release_hours < 0 or policy.extra_cap < 0:
        raise ValidationFailed.one(
            "release_hours", "释放时间与加号上限不能为负", "release time and extra cap cannot be negative"
        )


def reserved_count(total_slots: int, reserved_permille: int) -> int:
    """Slots to reserve in a session: the share rounded up, so 20 % of 7 slots keeps 2."""
    return min(total_slots, math.ceil(total_slots * reserved_permille / 1000))


def reserved_positions(total_slots: int, reserved_permille: int) -> list[int]:
    """Which slots (0-based, in time order) are reserved: spread evenly over the session."""
    count = reserved_count(total_slots, reserved_permille)
    if count == 0:
        return []
    step = total_slots / count
    return sorted({min(total_slots - 1, int(i * step + step / 2)) for i in range(count)})


def bed_pools(beds: int, reserved_permille: int) -> list[tuple[str, int]]:
    """A ward's beds opened for one admission day, as (pool, places): the reserved share of beds, rounded
    up like slots, for grassroots referrals (001 §2.1 "住院床位预约"); the rest public. Empty pools are left out."""
    reserved = reserved_count(beds, reserved_permille)
    return [(pool, places) for pool, places in ((RESERVED, reserved), (PUBLIC, beds - reserved)) if places]


def released_at(starts_at: datetime, release_hours: int) -> datetime:
    return starts_at - timedelta(hours=release_hours)


def effective_pool(pool: str, starts_at: datetime, now: datetime, release_hours: int) -> str:
    """A reserved slot not taken by its release time is public from then on."""
    if pool == RESERVED and now >= released_at(starts_at, release_hours):
        return PUBLIC
    return pool


@dataclass(frozen=True)
class Booker:
    """Who books, for whom: the channel decides which pools and how far ahead."""

    via_grassroots: bool  # a grassroots institution or family doctor booking for their patient
    signed: bool = False
    chronic_referral: bool = False
    age: int = 0


def is_chronic_referral(*, referral_direction: str | None, chronic_registered: bool) -> bool:
    """The joint chronic clinic's priority (002 items 15, 17) is for registered chronic patients
    referred upward through it — not for every booking that carries a referral."""
    return referral_direction == "up" and chronic_registered


def booking_window_days(booker: Booker) -> int:
    priority = (
        booker.via_grassroots or booker.signed or booker.chronic_referral or booker.age >= GREEN_CHANNEL_AGE
    )
    return PRIORITY_WINDOW_DAYS if priority else PUBLIC_WINDOW_DAYS


def check_bookable(
    *,
    pool: str,
    starts_at: datetime,
    published: bool,
    now: datetime,
    release_hours: int,
    booker: Booker,
    capacity: int,
    booked: int,
) -> None:
    """Everything that makes a slot unbookable for this booker, named."""
    if not published:
        raise ValidationFailed.one("slot_id", "该号源尚未发布", "the slot is not published")
    if starts_at <= now:
        raise ValidationFailed.one("slot_id", "不能预约已过时间的号源", "the slot is in the past")
    if (starts_at.date() - now.date()).days > booking_window_days(booker):
        raise ValidationFailed.one(
            "slot_id",
            f"只能预约{booking_window_days(booker)}天内的号源",
            f"slots can be booked {booking_window_days(booker)} days ahead at most",
        )
    pool_now = effective_pool(pool, starts_at, now, release_hours)
    if pool_now in (RESERVED, EXTRA) and not booker.via_grassroots:
        raise ValidationFailed.one(
            "slot_id",
            "该号源预留给基层医疗机构和家庭医生转诊预约",
            "the slot is reserved for bookings by grassroots institutions and family doctors",
        )
    if booked >= capacity:
        raise ValidationFailed.one("slot_id", "号源已约满", "the slot is fully booked")


def check_extra_slot(
    *, session_day: date, today: date, existing_extra: int, cap: int, via_grassroots: bool
) -> None:
    """Same-day extra slots (当日加号): grassroots doctors only, today only, within the cap."""
    if not via_grassroots:
        raise ValidationFailed.one(
            "pool",
            "只有基层医疗机构和家庭医生可以申请当日加号",
            "only grassroots institutions and family doctors add same-day slots",
        )
    if session_day != today:
        raise ValidationFailed.one("starts_at", "加号只能加在当日", "extra slots are for today only")
    if existing_extra >= cap:
        raise ValidationFailed.one(
            "pool", f"当日加号已达上限{cap}个", f"the same-day extra cap of {cap} is reached"
        )


@dataclass(frozen=True)
class QuotaUse:
    """Per institution and period: what was reserved, used by grassroots, and released."""

    slots: int
    reserved: int
    reserved_used_by_grassroots: int
    released: int

    @property
    def reserved_share(self) -> float | None:
        return self.reserved / self.slots if self.slots else None

    @property
    def grassroots_use_of_reserved(self) -> float | None:
        return self.reserved_used_by_grassroots / self.reserved if self.reserved else None


def arrival_refusal(
    *, action: str, starts_at: datetime, now: datetime, grace_days: int = 0
) -> tuple[str, str] | None:
    """Why the desk may not record this now (Chinese, English), or None: an arrival on the appointment's
    day (up to `grace_days` later for a patient who comes late, configurable), never before it; a
    no-show only once the appointment time has come."""
    day, today = starts_at.date(), now.date()
    if action == "check_in" and today < day:
        return f"预约就诊日为{day}，当天才能登记到诊", f"check-in opens on the appointment's day, {day}"
    if action == "check_in" and today > day + timedelta(days=grace_days):
        return f"预约就诊日{day}已过，不能再登记到诊", f"the appointment's day {day} has passed"
    if action == "no_show" and now < starts_at:
        return "未到预约时间，不能登记爽约", "a no-show is recorded only once the appointment time has come"
    return None


def check_arrival(*, action: str, starts_at: datetime, now: datetime, grace_days: int = 0) -> None:
    """The arrival rule of `arrival_refusal`, raised as the field error `day`."""
    refusal = arrival_refusal(action=action, starts_at=starts_at, now=now, grace_days=grace_days)
    if refusal is not None:
        raise ValidationFailed.one("day", *refusal)
