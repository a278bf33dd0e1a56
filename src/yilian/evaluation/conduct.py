"""Bad-practice points and the blacklist (004 §2.6 "不良执业行为记分、医疗卫生行业黑名单制度") — pure.

Each record carries the points of its offence from the configurable catalogue. Points count from the
day of the offence for `expiry_days`; a record overturned on appeal never counts; a pending appeal
does not suspend the points (the record stands until overturned). Reaching `threshold` points
puts the staff member or institution on the blacklist, and blacklisted staff cannot be scheduled
or posted. An appeal must be lodged within `appeal_days` of the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from yilian.kit.errors import FieldError, ValidationFailed

STAFF, INSTITUTION = "staff", "institution"
ACTIVE, APPEALED, UPHELD, OVERTURNED = "active", "appealed", "upheld", "overturned"
STATUS_LABELS = {ACTIVE: "有效", APPEALED: "申诉中", UPHELD: "申诉驳回", OVERTURNED: "申诉成立（撤销）"}


# The longest a policy may set: a record counts for at most 100 years, an appeal is lodged within a
# year, a threshold is at most 1,000 points. Beyond them no date can be computed (date.max is 9999).
MAX_EXPIRY_DAYS = 36_500
MAX_APPEAL_DAYS = 366
MAX_THRESHOLD = 1_000


@dataclass(frozen=True)
class Policy:
    threshold: int = 12
    expiry_days: int = 365
    appeal_days: int = 15


@dataclass(frozen=True)
class Point:
    points: int
    occurred_on: date
    status: str = ACTIVE


def counts(point: Point, today: date, policy: Policy) -> bool:
    # Days apart, not a date plus the expiry: a policy stored before its bounds were checked may
    # hold an expiry no date can be added to.
    return point.status != OVERTURNED and 0 <= (today - point.occurred_on).days < policy.expiry_days


def counted_since(today: date, policy: Policy) -> date:
    """The earliest day of an offence that can still count today (date.min for a longer expiry)."""
    days = min(policy.expiry_days - 1, (today - date.min).days)
    return today - timedelta(days=max(days, 0))


def active_points(points: Iterable[Point], today: date, policy: Policy) -> int:
    return sum(p.points for p in points if counts(p, today, policy))


def blacklisted(points: Iterable[Point], today: date, policy: Policy) -> bool:
    return active_points(points, today, policy) >= policy.threshold


def blacklist_periods(points: Iterable[Point], policy: Policy) -> list[tuple[date, date | None]]:
    """The days on which `blacklisted` holds, as periods [start, end) in date order (end None: to the
    end of the calendar) — what asking `blacklisted` of every day would give, for the registry to
    read as data. A threshold below one point is read as one (`check_policy` allows no less)."""
    threshold = max(policy.threshold, 1)
    changes: dict[date, int] = {}
    for point in points:
        if point.status == OVERTURNED or policy.expiry_days <= 0:
            continue
        changes[point.occurred_on] = changes.get(point.occurred_on, 0) + point.points
        if policy.expiry_days <= (date.max - point.occurred_on).days:
            end = point.occurred_on + timedelta(days=policy.expiry_days)
            changes[end] = changes.get(end, 0) - point.points
    periods: list[tuple[date, date | None]] = []
    total, start = 0, None
    for day in sorted(changes):
        total += changes[day]
        if start is None and total >= threshold:
            start = day
        elif start is not None and total < threshold:
            periods.append((start, day))
            start = None
    if start is not None:
        periods.append((start, None))
    return periods


def expires_on(point: Point, policy: Policy) -> date:
    return point.occurred_on + timedelta(days=min(policy.expiry_days, (date.max - point.occurred_on).days))


def check_appeal(*, status: str, recorded_on: date, today: date, policy: Policy, reason: str) -> None:
    if status != ACTIVE:
        raise ValidationFailed.one(
            "status", "该记分已申诉或已处理", "this record was already appealed or decided"
        )
    if (today - recorded_on).days > policy.appeal_days:
        raise ValidationFailed.one(
            "appeal",
            f"已超过申诉期限（记分后{policy.appeal_days}日内）",
            f"the appeal period ({policy.appeal_days} days after recording) is over",
        )
    if not reason.strip():
        raise ValidationFailed.one("reason", "请填写申诉理由", "give the reason for the appeal")


def check_policy(policy: Policy) -> None:
    errors = [
        FieldError(name, f"须在{low}到{high}之间", f"must be between {low} and {high}")
        for name, value, low, high in (
            ("threshold", policy.threshold, 1, MAX_THRESHOLD),
            ("expiry_days", policy.expiry_days, 1, MAX_EXPIRY_DAYS),
            ("appeal_days", policy.appeal_days, 0, MAX_APPEAL_DAYS),
        )
        if not low <= value <= high
    ]
    if errors:
        raise ValidationFailed.none_written(errors, "记分规则", saved=True)
