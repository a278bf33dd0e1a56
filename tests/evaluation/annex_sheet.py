"""Build an Excel sheet laid out like 002's annex 1 from the notice's own text (../shared/seeds)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl

SECTION = re.compile(r"^[一二三四五六七八九十]+、.+[（(].*\d+分[)）]$")


def annex_rows(seed_text: str) -> list[list[str]]:
    """序号 | 监测评价内容 | 权重, with a title row and section rows, as the annex prints them."""
    annex = re.split(r"\n\s*附件1\s*\n", seed_text, maxsplit=1)[1]
    annex = re.split(r"\n\s*附件2\s*\n", annex, maxsplit=1)[0]
    tokens = [line.strip() for line in annex.splitlines() if line.strip()]
    title, tokens = tokens[0], tokens[4:]  # title, then the header cells 序号 / 监测评价内容 / 权重
    rows: list[list[str]] = [[title, "", ""], ["序号", "监测评价内容", "权重"]]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if SECTION.match(token):
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


def annex_workbook(seed_file: Path) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in annex_rows(seed_file.read_text(encoding="utf-8")):
        sheet.append([int(c) if c.isdigit() else c for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
