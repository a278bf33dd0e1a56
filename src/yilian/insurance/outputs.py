"""A settlement as an Excel workbook (one sheet per part) — what the bureau files and the community checks."""

from __future__ import annotations

from typing import Any

from yilian.insurance.service import Report
from yilian.kit.money import yuan_figure
from yilian.kit.tabular import write_workbook


def settlement_workbook(report: Report) -> bytes:
    data = report.to_json()
    sheets: list[tuple[str, list[str], list[list[Any]]]] = [
        (
            "清算明细",
            ["项目", "计算", "金额(元)"],
            [[line["label"], line["formula"], yuan_figure(line["fen"])] for line in data["lines"]],
        ),
        (
            "月度预付",
            ["月份", "预付(元)"],
            [
                [f"{data['year']}-{m:02d}", yuan_figure(fen)]
                for m, fen in enumerate(data["monthly_prepayment_fen"], 1)
            ],
        ),
        (
            "结余分配",
            ["机构编码", "机构", "基层", "绩效得分", "分配权重", "留用分配(元)", "可用于人员奖励(元)"],
            [
                [
                    s["code"],
                    s["name"],
                    "是" if s["grassroots"] else "否",
                    s["score"],
                    s["weight"],
                    yuan_figure(s["retained_fen"]),
                    yuan_figure(s["staff_reward_fen"]),
                ]
                for s in data["shares"]
            ],
        ),
        (
            "指标",
            ["指标", "值"],
            [[key, value] for key, value in data["figures"].items()],
        ),
    ]
    if data["drg"]:
        drg = data["drg"]
        sheets.append(
            (
                "DRG点数付费",
                ["机构编码", "机构", "病例数", "点数", "CMI", "应付(元)"],
                [
                    [r["code"], r["name"], r["cases"], r["points"], r["cmi"], yuan_figure(r["payment_fen"])]
                    for r in drg["institutions"]
                ]
                + [
                    [
                        "合计",
                        f"点值 {yuan_figure(drg['point_value_fen'], 4):.4f} 元/点",
                        "",
                        drg["total_points"],
                        "",
                        yuan_figure(drg["budget_fen"]),
                    ]
                ],
            )
        )
    if data["capitation"]:
        sheets.append(
            (
                "门诊人头付费",
                ["机构编码", "机构", "签约居民", "签约人日", "人头费(元)"],
                [
                    [c["code"], c["name"], c["residents"], c["person_days"], yuan_figure(c["amount_fen"])]
                    for c in data["capitation"]
                ],
            )
        )
    return write_workbook(sheets)
