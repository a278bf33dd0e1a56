"""A township family doctor's workbench through the browser alone: the red list of their villages,
narrowed to one village and one disease, the overdue list, and the whole list exported to Excel."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.journeys.helpers import choose, screenshot, sign_in
from yilian.kit.db import make_engine
from yilian.models import ChronicRegister, Grid, Resident, User, UserGrid

pytestmark = pytest.mark.browser


def test_family_doctor_works_the_red_list_by_village_and_disease(county: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        grids = select(UserGrid.grid_id).join(User, User.id == UserGrid.user_id).where(User.username == "jtys1")
        red = (
            select(func.count())
            .select_from(ChronicRegister)
            .join(Resident, Resident.id == ChronicRegister.resident_id)
            .where(Resident.grid_id.in_(grids), Resident.status == "active", ChronicRegister.colour == "red")
        )
        total = session.scalar(red)
        village_id, village, in_village = session.execute(
            select(Grid.id, Grid.name, func.count())
            .join(Resident, Resident.grid_id == Grid.id)
            .join(ChronicRegister, ChronicRegister.resident_id == Resident.id)
            .where(Grid.id.in_(grids), Resident.status == "active", ChronicRegister.colour == "red")
            .group_by(Grid.id, Grid.name)
            .order_by(func.count().desc())
        ).first()
        diabetic = session.scalar(red.where(Resident.grid_id == village_id, ChronicRegister.disease == "diabetes"))
    engine.dispose()
    assert total and in_village, "the synthetic county should give jtys1 red patients"

    page = browser.new_page(locale="zh-CN", accept_downloads=True)
    sign_in(page, base, "jtys1", "/app/login")
    page.get_by_role("menuitem", name="家庭医生工作台").click()
    expect(page).to_have_url(re.compile(r"/app/family-doctor/workbench$"))
    expect(page.get_by_text(f"共 {total} 条")).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile("红色预警"))).to_contain_text(str(total))
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    screenshot(page, "family-doctor-workbench")

    choose(page, "村/社区")
    page.get_by_role("option", name=f"{village}（{in_village}）").click()
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text(f"共 {in_village} 条")).to_be_visible()
    expect(page.get_by_role("cell", name=village).first).to_be_visible()
    choose(page, "病种")
    page.get_by_role("option", name="糖尿病").click()
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text(f"共 {diabetic} 条")).to_be_visible()

    page.get_by_role("tab", name=re.compile("随访逾期")).click()
    expect(page.get_by_text("已过下次随访日期")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="导出Excel").click()
    assert download.value.suggested_filename == "worklist-overdue.xlsx"
