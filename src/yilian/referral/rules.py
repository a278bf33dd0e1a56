"""The referral state machine (申请 → 接收/拒绝 → 到诊 → 完成/下转随访), pure.

Upward referrals (village/township → county or beyond) end in 完成 once the patient is seen;
downward referrals (county → township/village, 003 §5) end in 下转随访: the receiving family doctor
takes over with a follow-up task. A requester may withdraw before arrival.
"""

from __future__ import annotations

import math

from yilian.kit.errors import ValidationFailed
from yilian.kit.stats import percentile as percentile

UP, DOWN = "up", "down"
REQUESTED, ACCEPTED, REJECTED, WITHDRAWN, ARRIVED, COMPLETED, FOLLOWED_UP = (
    "requested",
    "accepted",
    "rejected",
    "withdrawn",
    "arrived",
    "completed",
    "followed_up",
)
LABELS = {
    REQUESTED: "申请",
    ACCEPTED: "接收",
    REJECTED: "拒绝",
    WITHDRAWN: "撤回",
    ARRIVED: "到诊",
    COMPLETED: "完成",
    FOLLOWED_UP: "下转随访",
}
TERMINAL = frozenset({REJECTED, WITHDRAWN, COMPLETED, FOLLOWED_UP})
# (from, to) → who may do it: the sending side or the receiving side.
TRANSITIONS = {
    (REQUESTED, ACCEPTED): "receiver",
    (REQUESTED, REJECTED): "receiver",
    (REQUESTED, WITHDRAWN): "sender",
    (ACCEPTED, WITHDRAWN): "sender",
    (ACCEPTED, ARRIVED): "receiver",
    (ARRIVED, COMPLETED): "receiver",
    (ARRIVED, FOLLOWED_UP): "receiver",
}


def check_transition(
    *, direction: str, current: str, target: str, side: str, reason: str | None = None
) -> None:
    """Refuse what the machine does not allow, naming the states in both languages."""
    who = TRANSITIONS.get((current, target))
    if who is None:
        raise ValidationFailed.one(
            "status",
            f"不能从“{LABELS.get(current, current)}”变为“{LABELS.get(target, target)}”",
            f"cannot go from {current} to {target}",
        )
    if target == COMPLETED and direction == DOWN:
        raise ValidationFailed.one(
            "status", "下转患者到诊后应转为“下转随访”", "a downward referral ends in follow-up"
        )
    if target == FOLLOWED_UP and direction == UP:
        raise ValidationFailed.one("status", "上转患者到诊后应“完成”", "an upward referral ends in completed")
    if who != side:
        raise ValidationFailed.one(
            "status",
            "该操作应由" + ("接收方" if who == "receiver" else "转出方") + "执行",
            f"this step belongs to the {who}",
        )
    if target in (REJECTED, WITHDRAWN) and not (reason and reason.strip()):
        raise ValidationFailed.one(
            "reason", "拒绝或撤回须填写原因", "a reason is required to reject or withdraw"
        )


def check_direction(*, direction: str, from_level: str, to_level: str) -> None:
    """Upward goes to a higher level than the sender; downward to a lower one (一级/未定级 are grassroots)."""
    rank = {"未定级": 0, "一级": 1, "二级": 2, "三级": 3}
    if direction not in (UP, DOWN):
        raise ValidationFailed.one("direction", "转诊方向应为上转或下转", "direction must be up or down")
    if direction == UP and rank[to_level] <= rank[from_level]:
        raise ValidationFailed.one(
            "to_institution_id", "上转应转往更高级别的机构", "an upward referral goes to a higher level"
        )
    if direction == DOWN and rank[to_level] >= rank[from_level]:
        raise ValidationFailed.one(
            "to_institution_id", "下转应转往基层机构", "a downward referral goes to a lower level"
        )


def check_outside_consortium(*, inside: bool, reason: str | None) -> None:
    """Referral out of the consortium (or the county) needs a stated reason."""
    if not inside and not (reason and reason.strip()):
        raise ValidationFailed.one(
            "reason", "转往医联体外机构须说明原因", "a referral outside the consortium needs a reason"
        )


# A referral should be answered within a working day; counties set their own (the figure's parameter).
DECISION_TARGET_HOURS = 24.0


def within_target_share(hours: list[float], target_hours: float) -> float | None:
    return round(sum(1 for h in hours if h <= target_hours) / len(hours), 4) if hours else None


def hours_of(micros: int) -> float:
    """Hours of a duration of `micros` microseconds, as `timedelta.total_seconds() / 3600` gives them."""
    return micros / 10**6 / 3600


def longest_within(target_hours: float) -> int:
    """The longest duration, in whole microseconds, whose `hours_of` is still within `target_hours`:
    a query counts durations up to it and agrees with `within_target_share` to the last bit (both
    divisions round correctly, so `hours_of` never decreases as the duration grows)."""
    micros = math.floor(target_hours * 3600 * 10**6)
    for _ in range(64):
        if hours_of(micros) > target_hours:
            micros -= 1
        elif hours_of(micros + 1) <= target_hours:
            micros += 1
        else:
            return micros
    raise ValueError(f"no microsecond bound for {target_hours} hours")


URGENCY_LABELS = {"routine": "普通", "urgent": "紧急"}
