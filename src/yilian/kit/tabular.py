"""Spreadsheets in and out: CSV (UTF-8 or GB18030) and Excel, read safely, written safely.

Reading: openpyxl parses with defusedxml (XML bombs, external entities); we refuse to run without.
Writing: a cell starting with = + - @ (or tab/CR) is prefixed with an apostrophe so that Excel and
WPS never evaluate it as a formula (CSV/formula injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl
import openpyxl.xml

from yilian.kit.errors import FieldError, ValidationFailed

if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - guarded by the dependency list
    raise RuntimeError("openpyxl must parse with defusedxml; unset OPENPYXL_DEFUSEDXML")

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Excel's own limit for one cell. A longer cell is refused, naming its column and row.
MAX_CELL_CHARS = 32_767
# The csv module refuses a field over 128 KiB with csv.Error (a 500). An upload is at most 50 MB, so
# with this limit every field parses and the cell check below names the long one. The limit is the
# csv module's, for the whole process: nothing here reads a file larger than an upload.
csv.field_size_limit(MAX_UPLOAD_BYTES)

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed.one(
        "file", "文件编码无法识别（请用UTF-8或GBK）", "file encoding not recognised (use UTF-8 or GBK)"
    )


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """Every row of the first sheet (or the CSV) as stripped strings; row i is spreadsheet row i+1."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed.one("file", "文件超过50MB", "file is larger than 50 MB")
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise ValidationFailed.one(
                "file", "无法读取Excel文件", f"cannot read the Excel file: {exc}"
            ) from None
        sheet = book.worksheets[0]
        raw = [
            ["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        book.close()
    elif name.endswith(".csv"):
        raw = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(_decode(data)))]
    else:
        raise ValidationFailed.one(
            "file", "只支持 .csv 或 .xlsx 文件", "only .csv and .xlsx files are accepted"
        )
    if not any(any(row) for row in raw):
        raise ValidationFailed.one("file", "文件为空", "file is empty")
    _check_cells(raw)
    return raw


def _check_cells(raw: list[list[str]]) -> None:
    """A cell longer than Excel allows is refused, named by its column's header (its letter in the
    header row itself) and its row."""
    header = raw[0]
    errors = [
        FieldError(
            header[j] if i > 0 and j < len(header) and header[j] else column_letter(j),
            f"第{column_letter(j)}列的单元格超过{MAX_CELL_CHARS}个字符",
            f"the cell in column {column_letter(j)} is longer than {MAX_CELL_CHARS} characters",
            row=i + 1,
        )
        for i, row in enumerate(raw)
        for j, cell in enumerate(row)
        if len(cell) > MAX_CELL_CHARS
    ]
    if errors:
        raise ValidationFailed.none_written(errors[:20], "文件")


def column_letter(index: int) -> str:
    """A, B, … Z, AA, AB …: how a spreadsheet names column `index` (from 0)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def read_rows(filename: str, data: bytes, aliases: dict[str, str]) -> list[dict[str, str]]:
    """Rows as dicts keyed by canonical field names; `aliases` maps header text (中文 or English) to them."""
    raw = [row for row in read_table(filename, data) if any(row)]
    header = [aliases.get(h.strip(), aliases.get(h.strip().lower(), "")) for h in raw[0]]
    return [{key: (row[i] if i < len(row) else "") for i, key in enumerate(header) if key} for row in raw[1:]]


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with BOM so that Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "Sheet1") -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for row in rows:
        sheet.append([neutralise(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_workbook(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """Several sheets in one Excel file: (title, header, rows) each, cells neutralised."""
    book = openpyxl.Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append([neutralise(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
