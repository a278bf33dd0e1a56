"""Reform task lists (004 annex): deadlines as notices write them, merged cells, states."""

from __future__ import annotations

from datetime import date

import pytest

from yilian.evaluation.tasks import (
    DONE,
    DUE_SOON,
    ON_TRACK,
    ONGOING,
    OVERDUE,
    parse_deadline,
    parse_task_list,
    split_units,
    task_state,
)
from yilian.kit.errors import ValidationFailed

# The first rows of 灵武市县域紧密型医共体2021年重点任务清单 (004 annex), merged cells left blank.
ANNEX_004 = [
    ["灵武市县域紧密型医共体2021年重点任务清单", "", "", "", "", ""],
    ["改革项目", "改革任务", "重点分工", "牵头单位", "完成时限", "配合单位"],
    ["(一)深化管理体制改革", "", "", "", "", ""],
    [
        "",
        "1.强化政府办医职责。",
        "成立灵武市县域医共体管理委员会，提请政府研究审定。",
        "市卫生健康局",
        "2021年4月底前",
        "",
    ],
    [
        "",
        "2.整合县乡医疗卫生资源。",
        "1.按照…要求成立医疗健康总院。",
        "市委组织部  市委编办",
        "2021年4月底前",
        "市卫生健康局",
    ],
    [
        "",
        "",
        "2.实行人员、资金、业务、信息、药械“五统一”管理，成立财务核算管理中心。",
        "市卫生健康局",
        "2021年4-11月逐步推进",
        "市财政局        市人社局        市医疗保障局    市委网信办\n医疗健康总院",
    ],
    ["", "3.落实运行管理自主权。", "设立总院党委。", "市卫生健康局", "2021年5月底前", ""],
    [
        "",
        "6.建立健全医疗卫生行业综合监管机制。",
        "总院建立不良执业行为记分、医疗卫生行业黑名单制度。",
        "医疗健康总院",
        "2021年7月底前",
        "总院各成员单位",
    ],
]


def test_deadlines_as_the_notices_write_them() -> None:
    assert parse_deadline("2021年4月底前") == (date(2021, 4, 30), False)
    assert parse_deadline("2021年4-11月逐步推进") == (date(2021, 11, 30), False)
    assert parse_deadline("2021年2月底前") == (date(2021, 2, 28), False)
    assert parse_deadline("2024年2月底前") == (date(2024, 2, 29), False)
    assert parse_deadline("2021年底") == (date(2021, 12, 31), False)
    assert parse_deadline("2021年6月20日前") == (date(2021, 6, 20), False)
    assert parse_deadline("长期坚持") == (None, True)
    assert parse_deadline("尽快") == (None, False)


def test_a_list_with_merged_cells_becomes_one_task_per_division() -> None:
    tasks = parse_task_list(ANNEX_004)
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
    renamed = [row[:] for row in ANNEX_004]
    renamed[1][4] = "时限"
    with pytest.raises(ValidationFailed) as failure:
        parse_task_list(renamed)
    assert "完成时限" in failure.value.message_zh
    bad = [row[:] for row in ANNEX_004]
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
