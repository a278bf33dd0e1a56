"""Reform task lists (004 annex): deadlines as notices write them, merged cells, states."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest

from tests.factories.evaluation import TASK_LIST_004
from yilian.evaluation.tasks import (
    DONE,
    DUE_SOON,
    NOT_STARTED,
    ON_TRACK,
    ONGOING,
    OVERDUE,
    Deadline,
    next_check,
    parse_deadline,
    parse_task_list,
    split_units,
    task_state,
)
from yilian.kit.errors import ValidationFailed


def test_deadlines_as_the_notices_write_them() -> None:
    assert parse_deadline("2021年4月底前") == Deadline(date(2021, 4, 30))
    assert parse_deadline("2021年2月底前") == Deadline(date(2021, 2, 28))
    assert parse_deadline("2024年2月底前") == Deadline(date(2024, 2, 29))
    assert parse_deadline("2021年底") == Deadline(date(2021, 12, 31))
    assert parse_deadline("2021年6月20日前") == Deadline(date(2021, 6, 20))
    assert parse_deadline("长期坚持") == Deadline(None, ongoing=True)
    assert parse_deadline("尽快") == Deadline(None)


def test_windows_and_ongoing_work_as_004s_annex_writes_them() -> None:
    """004's annex: "4-11月逐步推进" is a window in the list's year (2021), and "2021年持续推进" is
    ongoing work with a yearly check, not a deadline of 2021-12-31."""
    assert parse_deadline("4-11月逐步推进", 2021) == Deadline(date(2021, 11, 30), opens=date(2021, 4, 1))
    assert parse_deadline("2021年4-11月逐步推进") == Deadline(date(2021, 11, 30), opens=date(2021, 4, 1))
    assert parse_deadline("4-11月逐步推进") == Deadline(None)  # no year anywhere: unreadable, not guessed
    assert parse_deadline("6月底前", 2021) == Deadline(date(2021, 6, 30))
    ongoing = parse_deadline("2021年持续推进")
    assert ongoing == Deadline(None, ongoing=True, opens=date(2021, 1, 1))
    state = partial(task_state, deadline=None, ongoing=True, done=False, opens=date(2021, 1, 1))
    assert state(today=date(2022, 3, 1), last_reported=date(2021, 9, 1)) == ONGOING  # not overdue from 2022
    assert state(today=date(2022, 3, 1), last_reported=None) == OVERDUE  # 2021 ended with no report
    assert state(today=date(2021, 12, 20), last_reported=None) == DUE_SOON  # this year's check is near
    assert state(today=date(2021, 12, 20), last_reported=date(2021, 6, 1)) == ONGOING
    assert next_check(ongoing=True, opens=date(2021, 1, 1), today=date(2022, 3, 1)) == date(2022, 12, 31)
    window = partial(task_state, deadline=date(2021, 11, 30), ongoing=False, done=False, opens=date(2021, 4, 1))
    assert window(today=date(2021, 3, 20)) == NOT_STARTED
    assert window(today=date(2021, 6, 1)) == ON_TRACK
    assert window(today=date(2021, 12, 1)) == OVERDUE


def test_a_list_without_years_in_its_deadlines_takes_the_year_of_its_title() -> None:
    rows = [list(row) for row in TASK_LIST_004]
    at = next(i for i, row in enumerate(rows) if "4-11月" in "".join(row))
    rows[at] = [cell.replace("2021年4-11月", "4-11月") for cell in rows[at]]
    assert not any("2021年4-11月" in cell for cell in rows[at])
    task = next(t for t in parse_task_list(rows) if t.deadline_text == "4-11月逐步推进")
    assert (task.deadline, task.opens) == (date(2021, 11, 30), date(2021, 4, 1))


def test_a_list_with_merged_cells_becomes_one_task_per_division() -> None:
    tasks = parse_task_list(TASK_LIST_004)
    assert len(tasks) == 5
    assert [t.task for t in tasks[1:3]] == ["2.整合县乡医疗卫生资源。"] * 2  # the merged cell carried down
    assert tasks[0].project == "(一)深化管理体制改革" == tasks[4].project
    assert tasks[1].lead_units == ("市委组织部", "市委编办")
    assert tasks[2].cooperating_units == (
        "市财政局",
        "市人社局",
        "市医疗保障局",
        "市委网信办",
        "医疗健康总院",
    )
    assert [t.deadline for t in tasks] == [
        date(2021, 4, 30),
        date(2021, 4, 30),
        date(2021, 11, 30),
        date(2021, 5, 31),
        date(2021, 7, 31),
    ]
    assert split_units("市卫生健康局、医疗健康总院，市卫生健康局") == ("市卫生健康局", "医疗健康总院")


def test_missing_columns_and_unreadable_deadlines_are_named() -> None:
    renamed = [row[:] for row in TASK_LIST_004]
    renamed[1][4] = "时限"
    with pytest.raises(ValidationFailed) as failure:
        parse_task_list(renamed)
    assert "完成时限" in failure.value.message_zh
    bad = [row[:] for row in TASK_LIST_004]
    bad[3][4] = "尽快"
    bad[6][3] = ""
    with pytest.raises(ValidationFailed) as failure:
        parse_task_list(bad)
    assert [(e.row, e.field) for e in failure.value.errors] == [(4, "完成时限"), (7, "牵头单位")]


def test_task_states() -> None:
    deadline = date(2021, 4, 30)
    assert task_state(deadline=deadline, ongoing=False, done=False, today=date(2021, 5, 1)) == OVERDUE
    assert task_state(deadline=deadline, ongoing=False, done=False, today=date(2021, 4, 15)) == DUE_SOON
    assert task_state(deadline=deadline, ongoing=False, done=False, today=date(2021, 4, 14)) == ON_TRACK
    assert task_state(deadline=deadline, ongoing=False, done=True, today=date(2021, 6, 1)) == DONE
    assert task_state(deadline=None, ongoing=True, done=False, today=date(2021, 6, 1)) == ONGOING
