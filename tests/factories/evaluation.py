"""Evaluation: the Xinjiang annex as a sheet laid out like 002's annex 1, pilot units and their score
sheets, the 004 reform task list, and the bad-practice offence catalogue — the files the commission
uploads, and the service calls that take them in."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.evaluation import intake
from yilian.evaluation.annex import sheet_rows_from_notice
from yilian.models import ScoringScheme

XINJIANG = "XJ-JCSYQ"
XINJIANG_NAME = "自治区基层卫生健康综合试验区监测评价细则(试行)"
PILOTS = ["新源县", "伊宁市", "布尔津县", "巴里坤县", "拜城县", "洛浦县"]
CANDIDATES = ["候补甲县", "候补乙县", "候补丙县"]

# The first rows of 灵武市县域紧密型医共体2021年重点任务清单 (004 annex), merged cells left blank.
TASK_LIST_004 = [
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

OFFENCES_CSV = (
    "代码,名称,分值,对象\nB01,违规收费,6,人员\nB02,推诿患者,4,人员\nJ01,未按规定公示价格,3,机构\n".encode()
)


def annex_workbook(seed_file: Path) -> bytes:
    """An Excel sheet laid out like 002's annex 1, built from the notice's own text (../shared/seeds)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in sheet_rows_from_notice(seed_file.read_text(encoding="utf-8")):
        sheet.append([int(c) if c.isdigit() else c for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def units_csv() -> bytes:
    """The six pilot counties (P0…P5) and three candidates (C0…C2)."""
    rows = [f"P{i},{n},试点" for i, n in enumerate(PILOTS)] + [
        f"C{i},{n},候补" for i, n in enumerate(CANDIDATES)
    ]
    return ("单位编码,单位名称,类别\n" + "\n".join(rows) + "\n").encode()


def scores_csv(base_by_unit: dict[str, int], extra: list[str] | None = None) -> bytes:
    """Item 1 (党委政府主导, 80 points) carries the differences; `extra` rows add others (item 40: media)."""
    rows = [f"{code},1,{points},,,,会议纪要" for code, points in base_by_unit.items()]
    return ("单位编码,序号,得分,指标值,事件,数量,佐证\n" + "\n".join(rows + (extra or [])) + "\n").encode()


def import_xinjiang(
    session: Session, *, actor: Actor, workbook: bytes, name: str = XINJIANG_NAME
) -> ScoringScheme:
    """The annex imported as scheme XJ-JCSYQ version 2023."""
    return intake.do_import_scheme(
        session,
        actor=actor,
        filename="annex1.xlsx",
        data=workbook,
        code=XINJIANG,
        name=name,
        version="2023",
    )


def register_units(session: Session, *, actor: Actor, year: int = 2023) -> int:
    """The pilots and candidates registered under XJ-JCSYQ for `year`; how many."""
    return intake.do_register_units(
        session, actor=actor, programme=XINJIANG, filename="u.csv", data=units_csv(), year=year
    )
