"""Reform task lists (003's tasks, 004's annex 重点任务清单) — pure rules: reading the rows of a
list laid out like the annex, deadlines written the way notices write them, and a task's state.

A list has the columns 改革项目, 改革任务, 重点分工, 牵头单位, 完成时限, 配合单位. The annex
merges cells: a blank 改革项目 or 改革任务 continues the one above, and each 重点分工 row is
one supervised task with its own lead units and deadline.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from yilian.kit.errors import FieldError, ValidationFailed

DONE, OVERDUE, DUE_SOON, ON_TRACK, ONGOING = "done", "overdue", "due_soon", "on_track", "ongoing"
STATE_LABELS = {
    DONE: "已完成",
    OVERDUE: "已逾期",
    DUE_SOON: "即将到期",
    ON_TRACK: "按期推进",
    ONGOING: "长期推进",
}
DUE_SOON_DAYS = 15

HEADERS = {
    "project": ("改革项目",),
    "task": ("改革任务",),
    "division": ("重点分工", "工作任务", "具体任务"),
    "lead": ("牵头单位", "责任单位"),
    "deadline": ("完成时限", "时间节点", "完成时间"),
    "cooperating": ("配合单位", "协同单位"),
}
REQUIRED = ("division", "lead", "deadline")

_YEAR = r"(?P<y>\d{4})年"
_PATTERNS = (
    # 2021年5月20日前
    (re.compile(_YEAR + r"(?P<m>\d{1,2})月(?P<d>\d{1,2})日"), "day"),
    # 2021年4-11月逐步推进 → the end of the last month
    (re.compile(_YEAR + r"\d{1,2}\s*[-—–~至到]\s*(?P<m>\d{1,2})月"), "month"),
    # 2021年4月底前, 2021年6月
    (re.compile(_YEAR + r"(?P<m>\d{1,2})月"), "month"),
    # 2021年底, 2022年
    (re.compile(_YEAR), "year"),
)
ONGOING_WORDS = ("长期", "持续", "常态")


def parse_deadline(text: str) -> tuple[date | None, bool]:
    """(deadline, ongoing). "2021年4月底前" → 2021-04-30; "2021年4-11月逐步推进" → 2021-11-30;
    "2021年底" → 2021-12-31; "长期坚持" → (None, True). Unreadable text → (None, False)."""
    compact = text.replace(" ", "")
    for pattern, kind in _PATTERNS:
        match = pattern.search(compact)
        if not match:
            continue
        year = int(match.group("y"))
        if kind == "day":
            return date(year, int(match.group("m")), int(match.group("d"))), False
        if kind == "month":
            month = int(match.group("m"))
            if not 1 <= month <= 12:
                return None, False
            return date(year, month, calendar.monthrange(year, month)[1]), False
        return date(year, 12, 31), False
    return None, any(word in compact for word in ONGOING_WORDS)


def split_units(text: str) -> tuple[str, ...]:
    """ "市财政局        市人社局、市医疗保障局" → each unit once, in order."""
    seen: list[str] = []
    for unit in re.split(r"[\s、，,;；/]+", text):
        if unit and unit not in seen:
            seen.append(unit)
    return tuple(seen)


@dataclass(frozen=True)
class TaskRow:
    row: int
    project: str
    task: str
    division: str
    lead_units: tuple[str, ...]
    cooperating_units: tuple[str, ...]
    deadline_text: str
    deadline: date | None
    ongoing: bool


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        for key, names in HEADERS.items():
            if cell.strip() in names and key not in found:
                found[key] = index
    return found


def parse_task_list(rows: list[list[str]]) -> list[TaskRow]:
    """All or nothing; a missing column or an unreadable deadline is named with its row."""
    header_at = next((i for i, row in enumerate(rows[:15]) if set(REQUIRED) <= set(_columns(row))), None)
    if header_at is None:
        missing = "、".join(HEADERS[k][0] for k in REQUIRED)
        raise ValidationFailed.one(
            "file", f"找不到表头，须有列：{missing}", "no header row with 重点分工, 牵头单位, 完成时限"
        )
    columns = _columns(rows[header_at])

    def cell(row: list[str], key: str) -> str:
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    errors: list[FieldError] = []
    tasks: list[TaskRow] = []
    project = task = ""
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        project = cell(row, "project") or project
        task = cell(row, "task") or task
        division = cell(row, "division")
        if not division:
            continue  # a project heading row, or blank
        lead, deadline_text = cell(row, "lead"), cell(row, "deadline")
        if not lead:
            errors.append(FieldError("牵头单位", "缺少牵头单位", "lead unit is missing", number))
        deadline, ongoing = parse_deadline(deadline_text)
        if deadline is None and not ongoing:
            errors.append(
                FieldError(
                    "完成时限",
                    f"无法识别完成时限“{deadline_text}”（如“2021年4月底前”）",
                    f"unreadable deadline '{deadline_text}' (e.g. 2021年4月底前)",
                    number,
                )
            )
        tasks.append(
            TaskRow(
                number,
                project,
                task,
                division,
                split_units(lead),
                split_units(cell(row, "cooperating")),
                deadline_text,
                deadline,
                ongoing,
            )
        )
    if errors:
        raise ValidationFailed.none_written(errors, "任务清单")
    if not tasks:
        raise ValidationFailed.one("file", "清单中没有任务", "the list has no tasks")
    return tasks


def task_state(
    *, deadline: date | None, ongoing: bool, done: bool, today: date, soon_days: int = DUE_SOON_DAYS
) -> str:
    if done:
        return DONE
    if ongoing or deadline is None:
        return ONGOING
    if today > deadline:
        return OVERDUE
    if (deadline - today).days <= soon_days:
        return DUE_SOON
    return ON_TRACK
