"""The health commission officer through the browser alone: the dashboard of key figures against
the notices' targets; one indicator drilled down to the county's institutions as sorted bars and a
paged table; the evaluation ranking with its yellow cards and one unit item by item; a reform task
list imported from Excel (a bad row shown, then the corrected file), progress reported on a task;
and a bad-practice point recorded against a doctor."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.journeys.helpers import PASSWORD, choose, screenshot, sign_in
from yilian.kit.db import make_engine
from yilian.models import Institution, Staff, User

pytestmark = pytest.mark.browser

HEADER = ["改革项目", "改革任务", "重点分工", "牵头单位", "完成时限", "配合单位"]
TASKS = [
    ["(一)医共体建设", "1.完善管理体制", "制定医共体章程并报县政府审定", "县卫健局", "2026年12月底前", "县医保局"],
    ["", "", "建立不良执业行为记分和黑名单制度", "县卫健局", "2027年3月底前", ""],
]


def pick(page: Any, scope: Any, label: str) -> None:
    """Opens an Element Plus select of a dialog by its label."""
    scope.locator(".el-select", has=page.get_by_role("combobox", name=label, exact=True)).click()


def workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_commission_officer_watches_targets_ranks_imports_tasks_and_records_a_point(
    county: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        doctor = session.scalar(select(User).where(User.username == "ys1"))
        assert doctor is not None and doctor.institution_id is not None
        hospital = session.get(Institution, doctor.institution_id)
        staff = session.scalar(
            select(Staff).where(Staff.home_institution_id == doctor.institution_id).order_by(Staff.id)
        )
        assert hospital is not None and staff is not None
        hospital_name, staff_name = hospital.name, staff.name
    engine.dispose()

    # Arrange through the API, as the office: the offences catalogue, and the office's account as
    # the reporter of its own unit (the list imported below names it as lead unit).
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/auth/token", json={"username": "admin", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        offences = "代码,名称,分值,对象\nB01,违规收费,6,人员\nJ01,未按规定公示价格,3,机构\n".encode()
        assert http.post("/api/conduct/offences", files={"file": ("o.csv", offences)}, headers=headers).is_success
        members = "单位,账号\n县卫健局,admin\n".encode()
        assert http.post("/api/tasks/members", files={"file": ("m.csv", members)}, headers=headers).is_success
        counties = http.get("/api/indicators", params={"period": "2026"}, headers=headers).json()
        county_code, county_name = counties[0]["unit_code"], counties[0]["unit_name"]
        drill = http.get("/api/indicators", params={"period": "2026", "county": county_code}, headers=headers).json()
    # the indicator whose institutions differ most (the most distinct values)
    spread = Counter(name for name, _ in {(r["name"], r["value"]) for r in drill if r["value"] is not None})
    indicator, _ = spread.most_common(1)[0]
    chosen = [r for r in drill if r["name"] == indicator]
    top = max((r for r in chosen if r["value"] is not None), key=lambda r: float(r["value"]))

    page = browser.new_page(locale="zh-CN", accept_downloads=True, viewport={"width": 1440, "height": 900})
    sign_in(page, base, "admin", "/app/login")

    # The dashboard: the catalogue's indicators against their targets, and the other key figures.
    page.get_by_role("menuitem", name="监测总览").click()
    expect(page).to_have_url(re.compile(r"/app/supervision/dashboard$"))
    expect(page.get_by_text("医共体监测指标")).to_be_visible()
    expect(page.locator("[data-testid^=dash-]").first).to_be_visible()
    expect(page.get_by_text("双向转诊")).to_be_visible()
    expect(page.get_by_text("签约率", exact=True)).to_be_visible()
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    screenshot(page, "commission-dashboard")

    # Indicators: the county, then its institutions for one indicator — bars and a paged table.
    page.get_by_role("menuitem", name="监测指标").click()
    table = page.get_by_test_id("indicator-table")
    table.get_by_role("link", name=county_name).click()
    expect(page.get_by_text(f"{county_name}各机构")).to_be_visible()
    choose(page, "指标")
    page.get_by_role("option", name=re.compile(re.escape(indicator))).first.click()
    expect(page.get_by_test_id("indicator-title")).to_contain_text(f"{indicator}（机构，{len(chosen)} 个）")
    expect(page.get_by_text(f"共 {len(chosen)} 条")).to_be_visible()
    expect(table.locator("tbody tr").first).to_contain_text(top["unit_name"])  # highest value first
    expect(page.locator(".chart canvas")).to_be_visible()
    page.wait_for_timeout(400)  # the indicator list's closing transition
    screenshot(page, "commission-indicators")
    with page.expect_download() as exported:
        page.get_by_role("button", name="导出Excel").click()
    sheet = openpyxl.load_workbook(io.BytesIO(Path(exported.value.path()).read_bytes())).active
    assert sheet is not None and sheet.max_row == len(chosen) + 1

    # Evaluation: last year's ranking, with the two yellow-carded pilots, and one unit item by item.
    page.get_by_role("menuitem", name="监测评价").click()
    ranking = page.get_by_test_id("ranking")
    expect(ranking.get_by_text("黄牌")).to_have_count(2)
    expect(page.get_by_test_id("cards")).to_contain_text("限期整改")
    screenshot(page, "commission-evaluation")
    ranking.locator("tbody tr").first.click()
    drawer = page.locator(".el-drawer")
    expect(drawer).to_contain_text("总分")
    expect(drawer.locator(".el-collapse-item").first).to_be_visible()
    drawer.get_by_role("button", name=re.compile("关闭|Close")).click()

    # Reform tasks: a list with a row missing its lead unit is refused with the row shown; then the
    # corrected list is imported.
    page.get_by_role("menuitem", name="改革任务").click()
    page.get_by_role("button", name="导入任务清单").click()
    dialog = page.get_by_role("dialog", name="导入任务清单")
    dialog.get_by_label("清单名称").fill("2026年医共体重点任务清单")
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    bad.write_bytes(workbook([HEADER, TASKS[0], [*TASKS[1][:3], "", *TASKS[1][4:]]]))
    good.write_bytes(workbook([HEADER, *TASKS]))
    dialog.get_by_label("选择文件").set_input_files(str(bad))
    dialog.get_by_role("button", name="导入").click()
    expect(dialog.locator(".el-table")).to_contain_text("缺少牵头单位")
    expect(dialog.locator(".el-table tbody tr").first).to_contain_text("3")  # the sheet's third row
    screenshot(page, "commission-tasks-import-errors")
    dialog.get_by_label("选择文件").set_input_files(str(good))
    dialog.get_by_role("button", name="导入").click()
    expect(page.get_by_text("已导入任务清单“2026年医共体重点任务清单”")).to_be_visible()
    tasks = page.get_by_test_id("tasks")
    expect(tasks.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_text("共 2 条")).to_be_visible()

    # Progress on the first task, as the lead unit's reporter.
    tasks.locator("tbody tr").first.get_by_role("button", name="报告进展").click()
    report = page.get_by_role("dialog", name="报告进展")
    report.get_by_label("进展情况").fill("章程草案已起草，征求意见中")
    report.locator(".el-slider__input input").fill("40")
    report.get_by_role("button", name="提交").click()
    expect(page.get_by_text("进展已报告")).to_be_visible()
    expect(tasks.locator("tbody tr").first).to_contain_text("章程草案已起草，征求意见中")
    expect(tasks.locator("tbody tr").first).to_contain_text("40%")
    screenshot(page, "commission-tasks")

    # Conduct: a point recorded against a doctor of the county hospital.
    page.get_by_role("menuitem", name="执业记分").click()
    page.get_by_role("button", name="记分", exact=True).click()
    record = page.get_by_role("dialog", name="不良执业行为记分")
    pick(page, record, "机构")
    page.get_by_role("option", name=hospital_name, exact=True).click()
    pick(page, record, "医务人员")
    page.get_by_role("option", name=re.compile(f"^{re.escape(staff_name)}（")).first.click()
    pick(page, record, "记分项目")
    page.get_by_role("option", name="违规收费（6分）").click()
    record.get_by_label("发生日期").fill("2026-11-20")
    record.get_by_label("发生日期").press("Enter")
    record.get_by_role("button", name="确认记分").click()
    expect(page.get_by_text("已记分")).to_be_visible()
    row = page.get_by_test_id("conduct-records").locator("tbody tr").first
    expect(row).to_contain_text(staff_name)
    expect(row).to_contain_text("违规收费")
    expect(row).to_contain_text("有效")
    screenshot(page, "commission-conduct")
    page.close()
