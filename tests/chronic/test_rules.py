"""Worked examples: every cell of the 2018 hypertension table, the diabetes colours, control, 12 weeks."""

from __future__ import annotations

from datetime import date

import pytest

from yilian.chronic.rules import (
    PatientFacts,
    bp_grade,
    builtin_tables,
    check_measurements,
    check_prescription_days,
    evaluate,
    is_controlled,
    next_due,
    screened_positive,
)
from yilian.kit.errors import ValidationFailed

TABLES = builtin_tables()
# A representative BP for each grade of the 2018 guideline.
BP = {"high_normal": (135, 85), "grade1": (150, 92), "grade2": (165, 102), "grade3": (185, 112)}
# Facts that put a patient on each row of the table.
ROWS = {
    1: {"age": 40, "sex": "M"},  # no other risk factor
    2: {"age": 60, "sex": "M", "smoker": True},  # 2 risk factors: age > 55, smoking
    3: {"age": 50, "sex": "F", "diabetes": True},  # diabetes without complications
    4: {"age": 50, "sex": "F", "clinical_complications": True},  # e.g. after a stroke
}
# The guideline's table (中国高血压防治指南2018): guideline wording → our level.
EXPECTED = {
    (1, "high_normal"): "low",
    (1, "grade1"): "low",
    (1, "grade2"): "medium",
    (1, "grade3"): "high",
    (2, "high_normal"): "low",
    (2, "grade1"): "medium",
    (2, "grade2"): "high",
    (2, "grade3"): "high",
    (3, "high_normal"): "high",
    (3, "grade1"): "high",
    (3, "grade2"): "high",
    (3, "grade3"): "high",
    (4, "high_normal"): "high",
    (4, "grade1"): "high",
    (4, "grade2"): "high",
    (4, "grade3"): "high",
}


@pytest.mark.parametrize(("row", "grade"), list(EXPECTED))
def test_hypertension_table_cell(row: int, grade: str) -> None:
    sbp, dbp = BP[grade]
    facts = PatientFacts(sbp=sbp, dbp=dbp, **ROWS[row])  # type: ignore[arg-type]
    assert facts.tier == row
    result = evaluate(TABLES["hypertension"], facts)
    assert result.level == EXPECTED[(row, grade)], result.explanation
    assert result.rule_id in result.explanation and "CN-HTN-2018" in result.explanation


def test_colour_and_plan_follow_the_level() -> None:
    red = evaluate(TABLES["hypertension"], PatientFacts(age=70, sex="M", sbp=185, dbp=100))
    assert (red.colour, red.plan.interval_days, red.plan.responsible_role) == ("red", 14, "专科医生")
    yellow = evaluate(TABLES["hypertension"], PatientFacts(age=40, sex="M", sbp=165, dbp=95))
    assert (yellow.colour, yellow.plan.interval_days, yellow.plan.responsible_role) == (
        "yellow",
        30,
        "全科医生",
    )
    green = evaluate(TABLES["hypertension"], PatientFacts(age=40, sex="M", sbp=128, dbp=80))
    assert (green.colour, green.plan.interval_days, green.plan.responsible_role) == ("green", 90, "村医")
    assert next_due(date(2026, 11, 24), "red") == date(2026, 12, 8)


def test_bp_grade_takes_the_higher_of_systolic_and_diastolic() -> None:
    assert bp_grade(138, 101) == "grade2"
    assert bp_grade(181, 70) == "grade3"
    assert bp_grade(129, 84) == "normal"
    assert bp_grade(None, 80) is None


def test_risk_factors_counted() -> None:
    assert PatientFacts(age=56, sex="M").risk_factor_count == 1
    assert PatientFacts(age=56, sex="F").risk_factor_count == 0
    assert PatientFacts(age=70, sex="F", smoker=True, dyslipidaemia=True, bmi=29.0).risk_factor_count == 4
    assert PatientFacts(age=70, sex="F", smoker=True, dyslipidaemia=True).tier == 3


@pytest.mark.parametrize(
    ("facts", "rule", "colour"),
    [
        ({"fasting_glucose": 3.2}, "DM-HYPO", "red"),
        ({"fasting_glucose": 11.2}, "DM-FPG-10", "red"),
        ({"fasting_glucose": 6.5, "hba1c": 9.4}, "DM-A1C-9", "red"),
        ({"fasting_glucose": 6.1, "clinical_complications": True}, "DM-COMP-CLIN", "red"),
        ({"fasting_glucose": 7.8}, "DM-FPG-7", "yellow"),
        ({"fasting_glucose": 6.2, "diabetes_complications": True}, "DM-COMP", "yellow"),
        ({"fasting_glucose": 6.2, "hba1c": 6.5}, "DM-CONTROLLED", "green"),
        ({}, "DM-CONTROLLED", "green"),
    ],
)
def test_diabetes_colours(facts: dict[str, object], rule: str, colour: str) -> None:
    result = evaluate(TABLES["diabetes"], PatientFacts(age=60, sex="F", diabetes=True, **facts))  # type: ignore[arg-type]
    assert (result.rule_id, result.colour) == (rule, colour)


def test_control_targets() -> None:
    assert is_controlled("hypertension", age=60, sbp=139, dbp=89) is True
    assert is_controlled("hypertension", age=60, sbp=140, dbp=80) is False
    assert is_controlled("hypertension", age=82, sbp=148, dbp=80) is True  # < 150/90 from 80
    assert is_controlled("diabetes", age=60, fasting_glucose=6.9) is True
    assert is_controlled("diabetes", age=60, fasting_glucose=6.9, hba1c=7.2) is False
    assert is_controlled("diabetes", age=60) is None


def test_screening_thresholds() -> None:
    assert screened_positive(sbp=142, dbp=80, fasting_glucose=7.0, total_cholesterol=5.0, ldl=4.2) == [
        "hypertension",
        "diabetes",
        "hyperlipidaemia",
    ]
    assert screened_positive(sbp=139, dbp=89, fasting_glucose=6.9, total_cholesterol=6.1, ldl=None) == []


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("sbp", {"sbp": 400, "dbp": 20}),
        ("fasting_glucose", {"fasting_glucose": -1}),
        ("dbp", {"sbp": 120, "dbp": 130}),
    ],
)
def test_impossible_measurements_are_named(field: str, values: dict[str, float]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_measurements(values)
    assert field in {e.field for e in caught.value.errors}


def test_twelve_week_limit() -> None:
    assert check_prescription_days(84, on_register=True, signed=True, stable=True) is True
    with pytest.raises(ValidationFailed) as caught:
        check_prescription_days(85, on_register=True, signed=True, stable=True)
    assert "12周" in caught.value.errors[0].message_zh and caught.value.errors[0].field == "days"
    with pytest.raises(ValidationFailed) as caught:
        check_prescription_days(56, on_register=True, signed=False, stable=True)
    assert "已签约家庭医生" in caught.value.errors[0].message_zh
    assert check_prescription_days(30, on_register=True, signed=False, stable=False) is False
    with pytest.raises(ValidationFailed):
        check_prescription_days(14, on_register=False, signed=True, stable=True)
