"""Checks on an encounter as entered: codes, dates, money."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from yilian.kit.errors import FieldError, ValidationFailed

KINDS = ("outpatient", "inpatient")
KIND_LABELS = {"outpatient": "门诊", "inpatient": "住院"}
# ICD-10 as used in China: WHO category plus the national clinical-version extension (e.g. I10.x00x002).
ICD10 = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Za-z]{1,8})?$")


def yuan_to_fen(value: Decimal | float | str) -> int:
    """Round half up to the fen, from a decimal string so 0.1 + 0.2 never bites."""
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fen_to_yuan(fen: int) -> str:
    return f"{fen / 100:.2f}" if abs(fen) < 10**13 else str(fen / 100)


def check_encounter(
    *,
    kind: str,
    start_date: date,
    end_date: date | None,
    diagnoses: list[str],
    total_fen: int,
    fund_fen: int,
    today: date,
) -> None:
    errors: list[FieldError] = []
    if kind not in KINDS:
        errors.append(FieldError("kind", "就诊类型应为门诊或住院", "kind must be outpatient or inpatient"))
    if start_date > today:
        errors.append(FieldError("start_date", "就诊日期不能晚于今天", "start date is in the future"))
    if end_date is not None and end_date < start_date:
        errors.append(FieldError("end_date", "出院日期不能早于入院日期", "end date is before start date"))
    if kind == "outpatient" and end_date not in (None, start_date):
        errors.append(
            FieldError(
                "end_date", "门诊就诊的结束日期应与就诊日期相同", "an outpatient visit ends the day it starts"
            )
        )
    if not diagnoses:
        errors.append(FieldError("diagnoses", "至少需要一个诊断", "at least one diagnosis is required"))
    for index, code in enumerate(diagnoses):
        if not ICD10.match(code):
            errors.append(
                FieldError(
                    f"diagnoses[{index}]", f"“{code}”不是有效的ICD-10编码", f"'{code}' is not an ICD-10 code"
                )
            )
    if total_fen < 0:
        errors.append(FieldError("total_cost", "总费用不能为负", "total cost cannot be negative"))
    if fund_fen < 0 or fund_fen > total_fen:
        errors.append(
            FieldError(
                "fund_paid",
                "统筹基金支付应在0与总费用之间",
                "fund share must lie between 0 and the total cost",
            )
        )
    if errors:
        raise ValidationFailed(errors, "就诊记录有误", "Invalid encounter")
