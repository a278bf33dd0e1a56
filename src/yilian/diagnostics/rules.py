"""Rules of the shared diagnostic centres, pure: the order's life, worklist priority, turnaround,
mutual recognition with quality control, ECG measurements, teleconsultation, coverage."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from yilian.kit.errors import FieldError, ValidationFailed
from yilian.kit.stats import histogram_percentile

# Centre kinds (004 §3.1: 心电、影像、超声、病理诊断、医学检验) and the modalities each reads.
CENTRE_KINDS = {
    "imaging": "影像诊断中心",
    "ecg": "心电诊断中心",
    "ultrasound": "超声诊断中心",
    "pathology": "病理诊断中心",
    "laboratory": "医学检验中心",
}
MODALITIES = {
    "DX": ("imaging", "数字X线摄影(DR)"),
    "CR": ("imaging", "计算机X线摄影"),
    "CT": ("imaging", "CT"),
    "MR": ("imaging", "磁共振(MRI)"),
    "ECG": ("ecg", "心电图"),
    "US": ("ultrasound", "超声"),
    "PATH": ("pathology", "病理"),
    "LAB": ("laboratory", "检验"),
}
IMAGING_MODALITIES = frozenset({"DX", "CR", "CT", "MR"})  # 放射诊断能力 (001 §2.1)

# Order statuses: ordered at the township, acquired (study taken, sent), reported at the centre.
ORDERED, ACQUIRED, REPORTED, CANCELLED = "ordered", "acquired", "reported", "cancelled"
ORDER_LABELS = {ORDERED: "已开单", ACQUIRED: "已检查待诊断", REPORTED: "已出报告", CANCELLED: "已取消"}
ORDER_TRANSITIONS = {ORDERED: {ACQUIRED, CANCELLED}, ACQUIRED: {REPORTED, CANCELLED}}

CRITICAL, SIGNED_OR_CHRONIC, ROUTINE = 0, 1, 2
PRIORITY_LABELS = {CRITICAL: "危急", SIGNED_OR_CHRONIC: "签约/慢病优先", ROUTINE: "普通"}


def check_order_transition(current: str, target: str) -> None:
    if target not in ORDER_TRANSITIONS.get(current, set()):
        if target == REPORTED and current == ORDERED:
            raise ValidationFailed.one(
                "status",
                "检查尚未完成，不能出具报告",
                "the study has not been acquired; it cannot be reported",
            )
        raise ValidationFailed.one(
            "status",
            f"检查单状态不能从“{ORDER_LABELS.get(current, current)}”变为“{ORDER_LABELS.get(target, target)}”",
            f"an order cannot go from {current} to {target}",
        )


def order_priority(*, urgent: bool, signed: bool, chronic: bool) -> int:
    """Worklist order: critical first, then signed or chronic patients (002 items 15, 17), then the rest."""
    if urgent:
        return CRITICAL
    return SIGNED_OR_CHRONIC if (signed or chronic) else ROUTINE


def worklist_key(priority: int, ordered_at: datetime, order_id: int) -> tuple[int, datetime, int]:
    """Priority, then first come first read; the id breaks ties of the same second."""
    return priority, ordered_at, order_id


def accession_number(ordered_on: date, order_id: int) -> str:
    """Printed on the request and written into the DICOM header by the modality: date + order id."""
    return f"{ordered_on:%y%m%d}{order_id:08d}"


# --- turnaround --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turnaround:
    modality: str
    reported: int
    median_minutes: float | None
    p90_minutes: float | None
    within_target: int
    target_minutes: int | None

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.reported if self.reported and self.target_minutes else None


def turnaround(
    modality: str, minutes_counts: Sequence[tuple[int, int]], target_minutes: int | None
) -> Turnaround:
    """From (whole minutes acquired → reported, how many reports) pairs of one modality."""
    within = sum(n for m, n in minutes_counts if target_minutes is not None and m <= target_minutes)
    return Turnaround(
        modality=modality,
        reported=sum(n for _, n in minutes_counts),
        median_minutes=histogram_percentile(minutes_counts, 0.5),
        p90_minutes=histogram_percentile(minutes_counts, 0.9),
        within_target=within,
        target_minutes=target_minutes,
    )


# --- mutual recognition and quality control ---------------------------------------------------


class Recognition(Enum):
    RECOGNISED = "recognised"
    RULE_EXPIRED = "rule_expired"  # the catalogue item is no longer (or not yet) in force
    TOO_OLD = "too_old"  # the result is older than the item's validity
    QC_FAILED = "qc_failed"  # the producing lab had no passing quality control covering the result

    @property
    def label(self) -> str:
        return {
            "recognised": "可互认",
            "rule_expired": "互认规则已失效",
            "too_old": "结果已超过有效期",
            "qc_failed": "出具结果的实验室质控未通过",
        }[self.value]


@dataclass(frozen=True)
class RecognitionRule:
    code: str
    validity_days: int
    requires_qc: bool
    effective_from: date
    effective_until: date | None


@dataclass(frozen=True)
class QcResult:
    item_code: str | None  # None covers every item of the lab
    kind: str  # internal | external
    checked_on: date
    valid_until: date
    passed: bool


def qc_passed(records: Iterable[QcResult], *, item_code: str, on: date) -> bool:
    """A lab's standing for an item on a day: for each kind of QC it has on record covering that day,
    the latest such record must have passed; and at least one record must cover the day (a lab with
    no quality control is not recognised). An item-specific record outranks a lab-wide one."""
    covering = [
        r
        for r in records
        if r.checked_on <= on <= r.valid_until and (r.item_code is None or r.item_code == item_code)
    ]
    if not covering:
        return False
    latest: dict[str, QcResult] = {}
    for record in sorted(covering, key=lambda r: (r.checked_on, r.item_code is not None)):
        latest[record.kind] = record
    return all(r.passed for r in latest.values())


def recognition_of(
    rule: RecognitionRule, *, result_on: date, today: date, qc: Iterable[QcResult]
) -> Recognition:
    """Whether a result of `result_on` may stand in for a new exam today (004: 区域共认)."""
    if today < rule.effective_from or (rule.effective_until is not None and today > rule.effective_until):
        return Recognition.RULE_EXPIRED
    if (today - result_on).days > rule.validity_days:
        return Recognition.TOO_OLD
    if rule.requires_qc and not qc_passed(qc, item_code=rule.code, on=result_on):
        return Recognition.QC_FAILED
    return Recognition.RECOGNISED


def check_repeat_reason(reason: str | None) -> str:
    if reason is None or len(reason.strip()) < 4:
        raise ValidationFailed.one(
            "repeat_reason",
            "该项目已有可互认的有效结果，重复检查须填写理由（至少4个字）",
            "a recognised, valid result exists: give a reason (4 characters or more) to repeat the exam",
        )
    return reason.strip()


# --- ECG ----------------------------------------------------------------------------------------

# Plausible ranges of what a resting 12-lead cart measures; outside them the file is wrong.
ECG_RANGES = {
    "heart_rate": (20, 300),
    "pr_ms": (60, 400),
    "qrs_ms": (40, 250),
    "qt_ms": (200, 700),
    "qtc_ms": (250, 750),
}


def qtc_bazett(qt_ms: float, heart_rate: float) -> int:
    """QTc = QT / √RR with RR in seconds (Bazett), rounded to the millisecond."""
    return round(qt_ms / math.sqrt(60.0 / heart_rate))


def check_ecg(values: dict[str, float | None], row: int | None = None) -> list[FieldError]:
    errors = []
    for name, (low, high) in ECG_RANGES.items():
        value = values.get(name)
        if value is None:
            if name in ("heart_rate", "qrs_ms", "qt_ms"):
                errors.append(FieldError(name, "必填", "required", row))
            continue
        if not low <= value <= high:
            errors.append(
                FieldError(
                    name, f"应在{low}–{high}之间，实为{value:g}", f"must be {low}–{high}, got {value:g}", row
                )
            )
    return errors


# --- teleconsultation ---------------------------------------------------------------------------

REQUESTED, ACCEPTED, DECLINED, SCHEDULED, ANSWERED, RATED, WITHDRAWN = (
    "requested",
    "accepted",
    "declined",
    "scheduled",
    "answered",
    "rated",
    "withdrawn",
)
CONSULT_LABELS = {
    REQUESTED: "已申请",
    ACCEPTED: "已接受",
    DECLINED: "已拒绝",
    SCHEDULED: "已排期",
    ANSWERED: "已出具意见",
    RATED: "已评价",
    WITHDRAWN: "已撤回",
}
# Which side moves a consultation to each status.
CONSULT_TRANSITIONS = {
    REQUESTED: {ACCEPTED: "consultant", DECLINED: "consultant", WITHDRAWN: "requester"},
    ACCEPTED: {SCHEDULED: "consultant", WITHDRAWN: "requester"},
    SCHEDULED: {ANSWERED: "consultant", WITHDRAWN: "requester"},
    ANSWERED: {RATED: "requester"},
}
CONSULT_KINDS = {"consult": "远程会诊", "clinic": "远程专家门诊"}
REMOTE_SPECIALTY_TARGET = 20  # 001 §2.1: 远程专家门诊专科服务项目达到20个以上


def check_consult_transition(current: str, target: str, side: str) -> None:
    allowed = CONSULT_TRANSITIONS.get(current, {})
    if target not in allowed:
        raise ValidationFailed.one(
            "status",
            f"会诊状态不能从“{CONSULT_LABELS.get(current, current)}”变为“{CONSULT_LABELS.get(target, target)}”",
            f"a consultation cannot go from {current} to {target}",
        )
    if allowed[target] != side:
        who = "会诊专家所在机构" if allowed[target] == "consultant" else "申请机构"
        raise ValidationFailed.one(
            "status", f"只有{who}可以执行此操作", f"only the {allowed[target]} side may do this"
        )


def check_rating(rating: int | None) -> int:
    if rating is None or not 1 <= rating <= 5:
        raise ValidationFailed.one("rating", "评分应为1–5分", "rating must be 1 to 5")
    return rating


# --- coverage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    kind: str
    served: int
    members: int

    @property
    def share(self) -> float | None:
        return self.served / self.members if self.members else None


def coverage(members: set[int], served_by_kind: dict[str, set[int]]) -> list[Coverage]:
    """Per centre kind: the consortium's members it serves (a host serves itself). Target 100% (001 §1.3)."""
    return [
        Coverage(kind, len(members & served_by_kind.get(kind, set())), len(members)) for kind in CENTRE_KINDS
    ]
