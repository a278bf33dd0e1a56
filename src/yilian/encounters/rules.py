"""Checks on an encounter as entered: codes, dates, money."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from yilian.kit.errors import FieldError, ValidationFailed

KINDS = ("outpatient", "inpatient")
KIND_LABELS = {"outpatient": "门诊", "inpatient": "住院"}
# ICD-10 as used in China: WHO category plus the national clinical-version extension (e.g. I10.x00x002).
ICD10 = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Za-z]{1,8})?$")
# ICD-9-CM-3 as used in China (national clinical version 3.0): e.g. 51.2300x001, 36.0700.
ICD9_CM3 = re.compile(r"^\d{2}(\.[0-9A-Za-z]{1,10})?$")
# 病案首页 离院方式: 医嘱离院, 医嘱转院, 医嘱转社区/乡镇卫生院, 非医嘱离院, 死亡, 其他.
LEAVING_TYPES = {
    "1": "医嘱离院",
    "2": "医嘱转院",
    "3": "医嘱转社区卫生服务机构/乡镇卫生院",
    "4": "非医嘱离院",
    "5": "死亡",
    "9": "其他",
}


def check_encounter(
    *,
    kind: str,
    start_date: date,
    end_date: date | None,
    diagnoses: list[str],
    total_fen: int,
    fund_fen: int,
    today: date,
    procedures: Sequence[str] = (),
    leaving_type: str | None = None,
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
    for index, code in enumerate(procedures):
        if not ICD9_CM3.match(code):
            errors.append(
                FieldError(
                    f"procedures[{index}]",
                    f"“{code}”不是有效的ICD-9-CM-3手术操作编码",
                    f"'{code}' is not an ICD-9-CM-3 procedure code",
                )
            )
    if leaving_type is not None and leaving_type not in LEAVING_TYPES:
        errors.append(
            FieldError(
                "leaving_type",
                "离院方式应为1、2、3、4、5或9（病案首页代码）",
                "leaving type must be 1, 2, 3, 4, 5 or 9 (front-page codes)",
            )
        )
    if kind == "outpatient" and leaving_type is not None:
        errors.append(
            FieldError("leaving_type", "门诊就诊没有离院方式", "an outpatient visit has no leaving type")
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
