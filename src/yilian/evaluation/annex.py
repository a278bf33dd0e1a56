"""Read a scoring scheme from a sheet laid out like 002's annex 1 (pure: rows in, a Scheme out).

The sheet has a header row with 序号, 监测评价内容 (or 内容) and 权重 (or 分值), possibly below a
title. A row whose content reads like "一、强化组织领导(150分)" opens a section; "十、加分项(最高
100分)" opens the bonus section with its cap. An item row has its number, its text and its weight.
A bonus item's rule is read from its text: "…，每次加20分" (one line per kind of event), "每项加30分",
"10-19个,加30分" and "20个(含20个)以上,加100分" (a ladder). An optional 评分方式 column may say
指标 with 目标值 (and 方向 "越低越好") for an item computed from an indicator.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from yilian.evaluation.rules import (
    BONUS,
    EVALUATOR,
    INDICATOR,
    EventTier,
    Item,
    Scheme,
    Section,
    Step,
    check_scheme,
)
from yilian.kit.errors import FieldError, ValidationFailed

HEADERS = {
    "number": ("序号", "编号", "no"),
    "text": ("监测评价内容", "评价内容", "内容", "content"),
    "weight": ("权重", "分值", "weight"),
    "method": ("评分方式", "method"),
    "target": ("目标值", "target"),
    "indicator": ("指标代码", "indicator"),
    "direction": ("方向", "direction"),
}
SECTION = re.compile(
    r"^[一二三四五六七八九十]+[、.．]\s*(?P<name>.+?)\s*[（(](?P<cap>最高)?\s*(?P<points>\d+)\s*分[)）]\s*$"
)
PER_EVENT = re.compile(r"每[次项篇条]加\s*(\d+(?:\.\d+)?)\s*分")
RANGE = re.compile(r"(\d+)\s*[-—–~至到]\s*(\d+)\s*个\s*[,，]?\s*加\s*(\d+(?:\.\d+)?)\s*分")
AND_ABOVE = re.compile(
    r"(\d+)\s*个\s*(?:[（(]含\s*\d+\s*个[)）])?\s*以上\s*[,，]?\s*加\s*(\d+(?:\.\d+)?)\s*分"
)
LEADING_NUMBER = re.compile(r"^\s*\d+\s*[.、．]\s*")


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        for key, names in HEADERS.items():
            if cell.strip().lower() in names and key not in found:
                found[key] = index
    return found


def event_tiers(text: str) -> tuple[EventTier, ...]:
    """One tier per clause that ends in 每次/每项加N分; its label is the clause before the points."""
    tiers = []
    for line in re.split(r"[\n;；]", text):
        match = PER_EVENT.search(line)
        if not match:
            continue
        before = line[: match.start()]
        clauses = [c for c in re.split(r"[。,，]", LEADING_NUMBER.sub("", before)) if c.strip()]
        label = clauses[-1].strip() if clauses else line.strip()
        tiers.append(EventTier(label, Decimal(match.group(1))))
    return tuple(tiers)


def ladder(text: str) -> tuple[Step, ...]:
    steps = [Step(int(m.group(1)), int(m.group(2)), Decimal(m.group(3))) for m in RANGE.finditer(text)]
    steps += [Step(int(m.group(1)), None, Decimal(m.group(2))) for m in AND_ABOVE.finditer(text)]
    return tuple(sorted(steps, key=lambda s: s.low))


def parse_annex(rows: list[list[str]], *, code: str, name: str, version: str) -> Scheme:
    """All or nothing: every problem is reported with its row; nothing is returned half-read."""
    header_at = next(
        (i for i, row in enumerate(rows[:15]) if {"number", "text", "weight"} <= set(_columns(row))), None
    )
    if header_at is None:
        raise ValidationFailed.one(
            "file", "找不到表头（序号、监测评价内容、权重）", "no header row with 序号, 监测评价内容 and 权重"
        )
    columns = _columns(rows[header_at])

    def cell(row: list[str], key: str) -> str:
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    errors: list[FieldError] = []
    sections: list[tuple[str, Decimal, bool, list[Item]]] = []
    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        number, text, weight = cell(row, "number"), cell(row, "text"), cell(row, "weight")
        if not (number or text):
            continue
        heading = SECTION.match(text or number)
        if heading and not number.isdigit():
            bonus = bool(heading.group("cap")) or "加分" in heading.group("name")
            sections.append((heading.group("name"), Decimal(heading.group("points")), bonus, []))
            continue
        if not number.isdigit():
            continue  # notes, blank placeholders ("?") and other text between items
        if not sections:
            errors.append(
                FieldError("序号", "第一个评价项之前没有分组标题", "an item comes before any section", offset)
            )
            continue
        section_name, _, bonus, items = sections[-1]
        method = {"指标": INDICATOR, "indicator": INDICATOR}.get(
            cell(row, "method"), BONUS if bonus else EVALUATOR
        )
        item_weight = Decimal(0)
        if not bonus:
            try:
                item_weight = Decimal(weight)
            except InvalidOperation:
                errors.append(
                    FieldError(
                        "权重",
                        f"第{number}项的权重“{weight}”不是数字",
                        f"item {number}: weight '{weight}' is not a number",
                        offset,
                    )
                )
                continue
        target = None
        if method == INDICATOR:
            try:
                target = Decimal(cell(row, "target").rstrip("%"))
            except InvalidOperation:
                errors.append(
                    FieldError(
                        "目标值",
                        f"第{number}项是指标项，须填写目标值",
                        f"item {number} is an indicator item and needs a target",
                        offset,
                    )
                )
                continue
        items.append(
            Item(
                number=int(number),
                text=text,
                weight=item_weight,
                method=method,
                target=target,
                higher_is_better="越低" not in cell(row, "direction"),
                indicator=(cell(row, "indicator") or None) if method == INDICATOR else None,
                events=event_tiers(text) if method == BONUS else (),
                ladder=ladder(text) if method == BONUS else (),
            )
        )
    if errors:
        raise ValidationFailed.none_written(errors, "评价细则")
    scheme = Scheme(
        code=code,
        name=name,
        version=version,
        sections=tuple(Section(n, w, tuple(items), bonus) for n, w, bonus, items in sections),
    )
    check_scheme(scheme)
    return scheme


NOTICE_SECTION = re.compile(r"^[一二三四五六七八九十]+、.+[（(].*\d+分[)）]$")


def sheet_rows_from_notice(notice_text: str) -> list[list[str]]:
    """The annex of a notice as published in plain text (one cell per line, blank cells printed as
    "?", as in ../shared/seeds/002_*), turned into the rows of a sheet laid out like the annex:
    序号 | 监测评价内容 | 权重, with the title and section rows. For demos and tests; offices send Excel."""
    annex = re.split(r"\n\s*附件1\s*\n", notice_text, maxsplit=1)[1]
    annex = re.split(r"\n\s*附件2\s*\n", annex, maxsplit=1)[0]
    tokens = [line.strip() for line in annex.splitlines() if line.strip()]
    title, tokens = tokens[0], tokens[4:]  # the title, then the header cells 序号 / 监测评价内容 / 权重
    rows: list[list[str]] = [[title, "", ""], ["序号", "监测评价内容", "权重"]]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if NOTICE_SECTION.match(token):
            rows.append(["", token, ""])
            i += 1
        elif token.isdigit():
            content = []
            i += 1
            while i < len(tokens) and not tokens[i].isdigit() and tokens[i] != "?":
                content.append(tokens[i])
                i += 1
            weight = tokens[i] if i < len(tokens) and tokens[i].isdigit() else ""
            i += 1
            rows.append([token, "\n".join(content), weight])
        else:
            i += 1  # the notice's blank cells, printed as "?"
    return rows
