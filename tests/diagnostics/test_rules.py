"""Pure rules of the shared centres, with plain values."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from yilian.diagnostics import rules
from yilian.diagnostics.rules import QcResult, Recognition, RecognitionRule
from yilian.kit.errors import ValidationFailed

CHEST_DR = RecognitionRule(
    code="DR-CHEST", validity_days=30, requires_qc=True, effective_from=date(2026, 1, 1), effective_until=None
)
LAB_PASS = QcResult(None, "internal", date(2026, 11, 1), date(2026, 11, 30), True)


def test_order_walks_ordered_acquired_reported_and_nothing_else() -> None:
    rules.check_order_transition(rules.ORDERED, rules.ACQUIRED)
    rules.check_order_transition(rules.ACQUIRED, rules.REPORTED)
    rules.check_order_transition(rules.ORDERED, rules.CANCELLED)
    with pytest.raises(ValidationFailed) as unacquired:
        rules.check_order_transition(rules.ORDERED, rules.REPORTED)
    assert "尚未完成" in unacquired.value.errors[0].message_zh
    for current, target in [
        (rules.REPORTED, rules.ACQUIRED),
        (rules.REPORTED, rules.CANCELLED),
        (rules.CANCELLED, rules.ACQUIRED),
        (rules.ACQUIRED, rules.ORDERED),
    ]:
        with pytest.raises(ValidationFailed):
            rules.check_order_transition(current, target)


def test_worklist_priority_critical_then_signed_or_chronic_then_time() -> None:
    assert rules.order_priority(urgent=True, signed=False, chronic=False) == rules.CRITICAL
    assert rules.order_priority(urgent=False, signed=True, chronic=False) == rules.SIGNED_OR_CHRONIC
    assert rules.order_priority(urgent=False, signed=False, chronic=True) == rules.SIGNED_OR_CHRONIC
    assert rules.order_priority(urgent=False, signed=False, chronic=False) == rules.ROUTINE
    early, late = datetime(2026, 11, 24, 8), datetime(2026, 11, 24, 10)
    waiting = [(2, early, 1), (1, late, 2), (0, late, 3), (1, early, 4)]
    assert [w[2] for w in sorted(waiting, key=lambda w: rules.worklist_key(*w))] == [3, 4, 2, 1]


def test_accession_number_is_date_and_order_id() -> None:
    assert rules.accession_number(date(2026, 11, 24), 1234) == "26112400001234"


def test_turnaround_median_p90_and_target_share_from_counts() -> None:
    # 10 chest films read in 30, 30, 45, 60, 60, 60, 90, 120, 150, 300 minutes; target 120.
    counts = [(30, 2), (45, 1), (60, 3), (90, 1), (120, 1), (150, 1), (300, 1)]
    t = rules.turnaround("DX", counts, 120)
    assert (t.reported, t.median_minutes, t.p90_minutes, t.within_target) == (10, 60, 150, 8)
    assert t.within_target_share == 0.8
    assert rules.turnaround("CT", [], 60).median_minutes is None


def test_recognised_result_within_validity_and_qc() -> None:
    verdict = rules.recognition_of(
        CHEST_DR, result_on=date(2026, 11, 10), today=date(2026, 11, 24), qc=[LAB_PASS]
    )
    assert verdict is Recognition.RECOGNISED
    # Exactly 30 days old is still valid; 31 is not.
    assert (
        rules.recognition_of(
            CHEST_DR,
            result_on=date(2026, 10, 25),
            today=date(2026, 11, 24),
            qc=[QcResult(None, "internal", date(2026, 10, 1), date(2026, 10, 31), True)],
        )
        is Recognition.RECOGNISED
    )
    assert (
        rules.recognition_of(
            CHEST_DR,
            result_on=date(2026, 10, 24),
            today=date(2026, 11, 24),
            qc=[QcResult(None, "internal", date(2026, 10, 1), date(2026, 10, 31), True)],
        )
        is Recognition.TOO_OLD
    )


def test_expired_rule_is_not_recognised() -> None:
    expired = RecognitionRule("DR-CHEST", 30, True, date(2025, 1, 1), date(2026, 6, 30))
    assert rules.recognition_of(
        expired, result_on=date(2026, 11, 10), today=date(2026, 11, 24), qc=[LAB_PASS]
    ) is (Recognition.RULE_EXPIRED)
    not_yet = RecognitionRule("DR-CHEST", 30, True, date(2027, 1, 1), None)
    assert rules.recognition_of(
        not_yet, result_on=date(2026, 11, 10), today=date(2026, 11, 24), qc=[LAB_PASS]
    ) is (Recognition.RULE_EXPIRED)


def test_qc_failed_lab_is_not_recognised() -> None:
    on = date(2026, 11, 10)
    assert not rules.qc_passed([], item_code="GLU", on=on)  # no QC at all
    failed_eqa = QcResult("GLU", "external", date(2026, 9, 1), date(2027, 2, 28), False)
    assert not rules.qc_passed([LAB_PASS, failed_eqa], item_code="GLU", on=on)
    assert rules.qc_passed([LAB_PASS, failed_eqa], item_code="HBA1C", on=on)  # the failure was GLU only
    # A later passing internal check supersedes an earlier failed one of the same kind.
    failed_early = QcResult(None, "internal", date(2026, 11, 1), date(2026, 11, 30), False)
    passed_later = QcResult(None, "internal", date(2026, 11, 5), date(2026, 11, 30), True)
    assert rules.qc_passed([failed_early, passed_later], item_code="GLU", on=on)
    assert not rules.qc_passed([failed_early, passed_later], item_code="GLU", on=date(2026, 11, 3))
    lab_rule = RecognitionRule("GLU", 7, True, date(2026, 1, 1), None)
    assert rules.recognition_of(
        lab_rule, result_on=on, today=date(2026, 11, 12), qc=[LAB_PASS, failed_eqa]
    ) is (Recognition.QC_FAILED)
    no_qc_needed = RecognitionRule("GLU", 7, False, date(2026, 1, 1), None)
    assert (
        rules.recognition_of(no_qc_needed, result_on=on, today=date(2026, 11, 12), qc=[])
        is Recognition.RECOGNISED
    )


def test_repeat_needs_a_reason() -> None:
    with pytest.raises(ValidationFailed):
        rules.check_repeat_reason("复查")
    assert rules.check_repeat_reason(" 症状加重需复查 ") == "症状加重需复查"


def test_qtc_by_bazett_and_ecg_ranges() -> None:
    # HR 75 → RR 0.8 s; QT 400 ms → QTc 400/√0.8 = 447 ms.
    assert rules.qtc_bazett(400, 75) == 447
    assert rules.qtc_bazett(360, 60) == 360
    errors = rules.check_ecg({"heart_rate": 15, "pr_ms": None, "qrs_ms": 90, "qt_ms": None, "qtc_ms": 800})
    assert sorted(e.field for e in errors) == ["heart_rate", "qt_ms", "qtc_ms"]


def test_teleconsult_state_machine_and_sides() -> None:
    path = [
        (rules.REQUESTED, rules.ACCEPTED, "consultant"),
        (rules.ACCEPTED, rules.SCHEDULED, "consultant"),
        (rules.SCHEDULED, rules.ANSWERED, "consultant"),
        (rules.ANSWERED, rules.RATED, "requester"),
    ]
    for current, target, side in path:
        rules.check_consult_transition(current, target, side)
    with pytest.raises(ValidationFailed):
        rules.check_consult_transition(rules.REQUESTED, rules.ACCEPTED, "requester")
    with pytest.raises(ValidationFailed):
        rules.check_consult_transition(rules.REQUESTED, rules.ANSWERED, "consultant")
    with pytest.raises(ValidationFailed):
        rules.check_consult_transition(rules.RATED, rules.WITHDRAWN, "requester")
    with pytest.raises(ValidationFailed):
        rules.check_rating(6)


def test_coverage_per_kind() -> None:
    members = {1, 2, 3, 4}
    shares = {c.kind: c.share for c in rules.coverage(members, {"imaging": {1, 2, 3, 4}, "ecg": {1, 2, 9}})}
    assert shares["imaging"] == 1.0 and shares["ecg"] == 0.5 and shares["pathology"] == 0.0
