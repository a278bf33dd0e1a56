"""Group a spreadsheet of discharges: the columns SPEC §2 names, in Chinese or in OpenDRG's English.

A blank cell is missing; the grouper validates the rest case by case, so one bad case gets its own
status (信息校验不通过, 诊断不是有效的ICD编码 …) and the batch continues.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from yilian.insurance.drg.rules import Case, Grouper, GroupResult
from yilian.kit.tabular import read_rows, write_csv, write_xlsx

CASE_COLUMNS = {
    "case_id": ("病案号", "Index", "case_id"),
    "sex": ("性别", "gender", "sex"),
    "age": ("年龄", "age"),
    "age_days": ("年龄(天)", "新生儿天数", "ageDay", "age_days"),
    "weight": ("新生儿出生体重(克)", "新生儿体重", "weight"),
    "department": ("科室", "dept", "department"),
    "length_of_stay": ("住院天数", "inHospitalTime", "length_of_stay"),
    "leaving_type": ("离院方式", "leavingType", "leaving_type"),
    "diagnoses": ("诊断编码", "zdList", "diagnoses"),
    "procedures": ("手术操作编码", "ssList", "procedures"),
}
ALIASES = {alias: key for key, names in CASE_COLUMNS.items() for alias in names} | {
    alias.lower(): key for key, names in CASE_COLUMNS.items() for alias in names
}
RESULT_HEADER = ["病案号", "状态", "MDC", "ADRG", "DRG", "DRG名称", "未识别编码"]


def case_of(row: dict[str, str]) -> Case:
    def cell(key: str) -> Any:
        value = row.get(key, "")
        return value if value != "" else None

    stay = cell("length_of_stay")
    return Case(
        case_id=row.get("case_id", ""),
        sex=cell("sex"),
        age=cell("age"),
        age_days=cell("age_days"),
        weight=cell("weight"),
        department=cell("department"),
        length_of_stay=int(stay) if stay and stay.isdigit() else None,
        leaving_type=cell("leaving_type"),
        diagnoses=row.get("diagnoses", ""),
        procedures=row.get("procedures", ""),
    )


def result_row(result: GroupResult, *, trace: bool = False) -> list[str]:
    row = [
        result.case_id,
        result.status,
        result.mdc,
        result.adrg,
        result.drg,
        result.drg_name,
        " ".join(result.unknown_codes),
    ]
    return row + ["；".join(result.trace)] if trace else row


def group_file(
    grouper: Grouper,
    filename: str,
    data: bytes,
    *,
    output_name: str,
    trace: bool = False,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 5_000,
) -> tuple[bytes, list[GroupResult]]:
    """Read, group in chunks (progress gets done-in-chunk and total), and write CSV or Excel by the output's extension."""
    rows = read_rows(filename, data, ALIASES)
    results: list[GroupResult] = []
    for start in range(0, len(rows), chunk):
        batch = [case_of(row) for row in rows[start : start + chunk]]
        results.extend(grouper.group_many(batch, trace=trace))
        if progress:
            progress(len(batch), len(rows))
    header: Sequence[str] = RESULT_HEADER + (["分组路径"] if trace else [])
    table = (result_row(r, trace=trace) for r in results)
    if output_name.lower().endswith(".xlsx"):
        return write_xlsx(header, table, title="DRG分组结果"), results
    return write_csv(header, table), results
