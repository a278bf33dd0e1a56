"""The staff workstation's shell through the browser alone: sign in, the role's left menu, a
server-paged list with a filter and its Excel export, a 404 screen, sign out."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.journeys.helpers import CLOCK, PASSWORD, screenshot
from yilian.kit.db import make_engine
from yilian.models import Resident

pytestmark = pytest.mark.browser


def test_commission_officer_signs_in_pages_filters_and_exports_residents(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(Resident))
        someone = session.scalar(select(Resident).order_by(Resident.id.desc()).limit(1))
        assert someone is not None
        namesakes = session.scalar(
            select(func.count()).select_from(Resident).where(Resident.name.contains(someone.name))
        )
    engine.dispose()

    page = browser.new_page(locale="zh-CN", accept_downloads=True)
    page.goto(f"{base}/app/residents")
    expect(page).to_have_url(re.compile(r"/app/login"))
    page.get_by_label("账号").fill("admin")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("密码")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/app/residents$"))
    expect(page.get_by_test_id("account")).to_contain_text("卫健局管理员")
    expect(page.get_by_role("menuitem", name="居民档案")).to_be_visible()
    # The browser is on the county's day, as the served app is (tests/journeys/helpers.CLOCK), and
    # its time runs: the page's clock moves between two readings.
    first = page.evaluate("Date.now()")
    assert page.evaluate("new Date().toISOString().slice(0, 10)") == CLOCK.now().date().isoformat()
    page.wait_for_timeout(50)
    assert page.evaluate("Date.now()") > first

    expect(page.get_by_text(f"共 {total} 条")).to_be_visible()  # the server's total, never a cap
    page.locator(".el-pager li", has_text=re.compile(r"^2$")).click()
    expect(page.locator(".el-pager li.is-active")).to_have_text("2")
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    screenshot(page, "staff-residents")

    page.get_by_label("姓名/身份证号").fill(someone.name)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text(f"共 {namesakes} 条")).to_be_visible()
    expect(page.get_by_role("cell", name=someone.name, exact=True).first).to_be_visible()
    masked = someone.id_number[:6] + "********" + someone.id_number[-4:]
    expect(page.get_by_role("cell", name=masked).first).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="导出Excel").click()
    assert download.value.suggested_filename == "居民档案.xlsx"

    page.goto(f"{base}/app/no-such-screen")
    expect(page.get_by_text("页面不存在", exact=True)).to_be_visible()
    page.get_by_role("button", name="返回首页").click()
    expect(page.get_by_text("您的角色是“卫健局管理员”")).to_be_visible()
    screenshot(page, "staff-home")

    page.get_by_role("button", name="退出").click()
    page.get_by_role("button", name="退出").last.click()  # the confirmation dialog
    expect(page).to_have_url(re.compile(r"/app/login"))
    page.goto(f"{base}/app/residents")
    expect(page).to_have_url(re.compile(r"/app/login"))
