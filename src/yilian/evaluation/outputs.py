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


def results_pdf(data: dict[str, Any]) -> bytes:
    """The same year on A4 landscape, to print, sign and file: title, scheme, ranking with section
    subtotals (yellow cards marked), and the card record. Chinese is set in the Adobe CID font
    STSong-Light, which every PDF reader carries: no font file ships or needs installing."""
    from io import BytesIO

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    scheme = data["scheme"]
    carded = {c["code"] for c in data["cards"] if c["year"] == data["year"]}
    sections = scheme["sections"]
    header = [
        "类别",
        "名次",
        "单位",
        "总分",
        "基础分",
        "加分",
        *[f"第{i}部分" for i in range(1, len(sections) + 1)],
    ]
    rows = [header] + [
        [
            r["group"],
            str(r["rank"]),
            r["name"] + ("（黄牌）" if r["code"] in carded else ""),
            str(r["total"]),
            str(r["base"]),
            str(r["bonus"]),
            *(str(s) for s in r["sections"]),
        ]
        for r in data["ranking"]
    ]
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 8),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f3ef")),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ("ALIGN", (2, 1), (2, -1), "LEFT"),
        ]
        + [
            ("TEXTCOLOR", (0, n), (-1, n), colors.HexColor("#b42318"))
            for n, r in enumerate(data["ranking"], start=1)
            if r["code"] in carded
        ]
    )
    cards = [["年度", "单位", "名次", "整改期限", "处理"]] + [
        [
            str(c["year"]),
            c["name"],
            str(c["rank"]),
            str(c["deadline"]),
            ("取消资格，由" + c["replaced_by"] + "替补" if c["replaced_by"] else "取消资格，无候补")
            if c["disqualified"]
            else "限期整改",
        ]
        for c in data["cards"]
    ]
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{scheme['name']} {data['year']}年评价结果",
    )
    legend = "；".join(f"第{i}部分 {name}" for i, name in enumerate(sections, start=1))
    document.build(
        [
            Paragraph(f"{scheme['name']}（{scheme['version']}版）{data['year']}年评价结果", title_style),
            Spacer(1, 4 * mm),
            Paragraph(f"满分 {scheme['total']} 分，加分项最高 {scheme['bonus_cap']} 分。{legend}。", body),
            Paragraph(
                "排名规则：总分；同分比基础分（不含加分）；再依次比各部分得分；最后按单位编码。红色为本年度亮黄牌单位。",
                body,
            ),
            Spacer(1, 3 * mm),
            Table(rows, repeatRows=1, style=grid),
            Spacer(1, 5 * mm),
            Paragraph(
                "亮黄牌与动态调整记录（每年排名后两位亮黄牌、限期整改；连续两年亮黄牌取消资格，由排名最前的候补单位替补）",
                body,
            ),
            Spacer(1, 2 * mm),
            Table(
                cards,
                repeatRows=1,
                style=TableStyle(
                    [("FONT", (0, 0), (-1, -1), font, 8), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey)]
                ),
            ),
            Spacer(1, 8 * mm),
            Paragraph("填报单位（盖章）：　　　　　　　　负责人：　　　　　　　　日期：", body),
        ]
    )
    return buffer.getvalue()
