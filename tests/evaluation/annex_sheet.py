"""Build an Excel sheet laid out like 002's annex 1 from the notice's own text (../shared/seeds)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from yilian.evaluation.annex import sheet_rows_from_notice


def annex_workbook(seed_file: Path) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in sheet_rows_from_notice(seed_file.read_text(encoding="utf-8")):
        sheet.append([int(c) if c.isdigit() else c for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
