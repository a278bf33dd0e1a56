"""A year's evaluation as an office files it (Excel)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from yilian.kit.tabular import write_workbook


def results_workbook(data: dict[str, Any]) -> bytes:
    """A year's evaluation as an office files it: ranking with section subtotals, item scores'
    sections named, and the yellow-card record (Excel)."""
    sections = data["scheme"]["sections"]
    ranking = (
        [
            r["group"],
            r["rank"],
            r["code"],
            r["name"],
            Decimal(r["total"]),
            Decimal(r["base"]),
            Decimal(r["bonus"]),
            *(Decimal(s) for s in r["sections"]),
        ]
        for r in data["ranking"]
    )
    cards = (
        [
            c["year"],
            c["name"],
            c["rank"],
            c["deadline"],
            ("取消资格，由" + c["replaced_by"] + "替补" if c["replaced_by"] else "取消资格，无候补")
            if c["disqualified"]
            else "限期整改",
        ]
        for c in data["cards"]
    )
    title = f"{data['scheme']['name']}（{data['scheme']['version']}版）{data['year']}年"
    return write_workbook(
        [
            (
                f"{data['year']}年排名",
                ["类别", "名次", "单位编码", "单位", "总分", "基础分", "加分", *sections],
                ranking,
            ),
            ("亮黄牌记录", ["年度", "单位", "名次", "整改期限", "处理"], cards),
            (
                "说明",
                ["项目", "内容"],
                [
                    ["方案", title],
                    ["满分", data["scheme"]["total"]],
                    ["加分上限", data["scheme"]["bonus_cap"]],
                    ["排名规则", "总分；同分比基础分（不含加分）；再依次比各部分得分；最后按单位编码"],
                    [
                        "动态调整",
                        "每年排名后两位亮黄牌、限期整改；连续两年亮黄牌取消资格，由排名最前的候补单位替补",
                    ],
                ],
            ),
        ]
    )
