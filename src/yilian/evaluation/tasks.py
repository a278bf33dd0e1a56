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

DONE, OVERDUE, DUE_SOON, ON_TRACK, ONGOING, NOT_STARTED = (
    "done",
    "overdue",
    "due_soon",
    "on_track",
    "ongoing",
    "not_started",
)
STATE_LABELS = {
    DONE: "已完成",
    OVERDUE: "已逾期",
    DUE_SOON: "即将到期",
    ON_TRACK: "按期推进",
    ONGOING: "持续推进",
    NOT_STARTED: "未到开始时间",
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

_YEAR = r"(?:(?P<y>\d{4})年)?"
_PATTERNS = (
    # 2021年5月20日前
    (re.compile(_YEAR + r"(?P<m>\d{1,2})月(?P<d>\d{1,2})日"), "day"),
    # (2021年)4-11月逐步推进 → a window: from the first month's first day to the last month's end
    (re.compile(_YEAR + r"(?P<m1>\d{1,2})\s*[-—–~至到]\s*(?P<m>\d{1,2})月"), "window"),
    # 2021年4月底前, 6月底前 (in the list's year)
    (re.compile(_YEAR + r"(?P<m>\d{1,2})月"), "month"),
    # 2021年底, 2022年
    (re.compile(r"(?P<y>\d{4})年"), "year"),
)
ONGOING_WORDS = ("长期", "持续", "常态")
_LIST_YEAR = re.compile(r"(\d{4})年")


@dataclass(frozen=True)
class Deadline:
    """When a task is due as its list writes it: a date (`due`), a window (`opens` … `due`), or ongoing
    work ("持续推进") checked once a year from `opens` on."""

    due: date | None
    ongoing: bool = False
    opens: date | None = None


UNREADABLE = Deadline(None)


def _month_end(year: int, month: int) -> date | None:
    return date(year, month, calendar.monthrange(year, month)[1]) if 1 <= month <= 12 else None


def parse_deadline(text: str, year: int | None = None) -> Deadline:
    """As notices write them, `year` being the list's own ("2021年重点任务清单"):
    "2021年4月底前" → due 2021-04-30; "4-11月逐步推进" → the window 04-01 … 11-30 of the list's year;
    "2021年持续推进" → ongoing from 2021 with a yearly check; "长期坚持" → ongoing; "尽快" → unreadable."""
    compact = text.replace(" ", "")
    ongoing = any(word in compact for word in ONGOING_WORDS)
    for pattern, kind in _PATTERNS:
        match = pattern.search(compact)
        if not match:
            continue
        y = int(match.group("y")) if match.group("y") else year
        if y is None:
            return UNREADABLE
        if kind == "year":
            if ongoing:
                return Deadline(None, True, date(y, 1, 1))
            return Deadline(date(y, 12, 31))
        month = int(match.group("m"))
        if kind == "day":
            try:
                return Deadline(date(y, month, int(match.group("d"))))
            except ValueError:
                return UNREADABLE
        due = _month_end(y, month)
        if due is None:
            return UNREADABLE
        if kind == "window":
            first = int(match.group("m1"))
            if not 1 <= first <= month:
                return UNREADABLE
            return Deadline(due, False, date(y, first, 1))
        return Deadline(due)
    return Deadline(None, True) if ongoing else UNREADABLE


def list_year(*texts: str) -> int | None:
    """The list's year from its name or title rows ("灵武市2021年重点任务清单"), if one is written."""
    for text in texts:
        match = _LIST_YEAR.search(text or "")
        if match:
            return int(match.group(1))
    return None


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
    opens: date | None = None


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        for key, names in HEADERS.items():
            if cell.strip() in names and key not in found:
                found[key] = index
    return found


def parse_task_list(rows: list[list[str]], year: int | None = None) -> list[TaskRow]:
    """All or nothing; a missing column or an unreadable deadline is named with its row. A deadline
    without a year ("4-11月逐步推进") is in `year`, else in the year of the list's title rows."""
    header_at = next((i for i, row in enumerate(rows[:15]) if set(REQUIRED) <= set(_columns(row))), None)
    if header_at is None:
        missing = "、".join(HEADERS[k][0] for k in REQUIRED)
        raise ValidationFailed.one(
            "file", f"找不到表头，须有列：{missing}", "no header row with 重点分工, 牵头单位, 完成时限"
        )
    columns = _columns(rows[header_at])
    year = year or list_year(*(" ".join(row) for row in rows[:header_at]))

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
        when = parse_deadline(deadline_text, year)
        if when.due is None and not when.ongoing:
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
                when.due,
                when.ongoing,
                when.opens,
            )
        )
    if errors:
        raise ValidationFailed.none_written(errors, "任务清单")
    if not tasks:
        raise ValidationFailed.one("file", "清单中没有任务", "the list has no tasks")
    return tasks


def task_state(
    *,
    deadline: date | None,
    ongoing: bool,
    done: bool,
    today: date,
    opens: date | None = None,
    last_reported: date | None = None,
    soon_days: int = DUE_SOON_DAYS,
) -> str:
    """Ongoing work ("持续推进") is never overdue by a date, but it is checked once a year: a year since
    it opened that ended with no progress report makes it overdue, and a year about to end without
    one makes it due soon. A window's task has not started before the window opens."""
    if done:
        return DONE
    if ongoing or deadline is None:
        if opens is None or today < opens:
            return ONGOING
        year_start = date(today.year, 1, 1)
        if today.year - 1 >= opens.year and (last_reported is None or last_reported < date(today.year - 1, 1, 1)):
            return OVERDUE
        if (last_reported is None or last_reported < year_start) and (
            date(today.year, 12, 31) - today
        ).days <= soon_days:
            return DUE_SOON
        return ONGOING
    if opens is not None and today < opens:
        return NOT_STARTED
    if today > deadline:
        return OVERDUE
    if (deadline - today).days <= soon_days:
        return DUE_SOON
    return ON_TRACK


def next_check(*, ongoing: bool, opens: date | None, today: date) -> date | None:
    """Ongoing work's next yearly check: the end of this year (or of the year it opens)."""
    if not ongoing:
        return None
    year = max(today.year, opens.year) if opens else today.year
    return date(year, 12, 31)
