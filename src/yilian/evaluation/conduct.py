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

from yilian.kit.errors import ValidationFailed

STAFF, INSTITUTION = "staff", "institution"
ACTIVE, APPEALED, UPHELD, OVERTURNED = "active", "appealed", "upheld", "overturned"
STATUS_LABELS = {ACTIVE: "有效", APPEALED: "申诉中", UPHELD: "申诉驳回", OVERTURNED: "申诉成立（撤销）"}


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
    return point.status != OVERTURNED and point.occurred_on <= today < point.occurred_on + timedelta(
        days=policy.expiry_days
    )


def active_points(points: Iterable[Point], today: date, policy: Policy) -> int:
    return sum(p.points for p in points if counts(p, today, policy))


def blacklisted(points: Iterable[Point], today: date, policy: Policy) -> bool:
    return active_points(points, today, policy) >= policy.threshold


def expires_on(point: Point, policy: Policy) -> date:
    return point.occurred_on + timedelta(days=policy.expiry_days)


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
    if policy.threshold <= 0 or policy.expiry_days <= 0 or policy.appeal_days < 0:
        raise ValidationFailed.one(
            "policy", "黑名单分值和有效期须大于0，申诉期限不能为负", "threshold and expiry must be positive"
        )
