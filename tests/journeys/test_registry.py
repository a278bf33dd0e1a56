"""Registry and residents administration on screen: the commission's administrator filters the
county's institutions and exports them, registers a staff member and posts them to a township; a
family doctor registers a resident (the API's field error first), imports a sheet whose bad row is
shown in a table (nothing written), and adds a guardian. A browser asking for an unknown path gets a
Chinese HTML page with a way back."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.journeys.conftest import PASSWORD, screenshot
from tests.journeys.test_family_doctor_workbench import choose
from yilian.kit.db import make_engine
from yilian.kit.id_numbers import make_id_number
from yilian.models import Institution, Posting, Resident, Staff, User, UserGrid

pytestmark = pytest.mark.browser


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/app/")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def pick_institution(page: Any, scope: Any, label: str, name: str) -> None:
    """Types part of a name into an InstitutionSelect and takes the match."""
    box = scope.get_by_role("combobox", name=label)
    box.click()
    box.fill(name)
    page.get_by_role("option", name=name, exact=True).click()


def test_admin_filters_institutions_exports_and_posts_new_staff(
    county: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        townships = session.scalar(select(func.count()).where(Institution.type == "乡镇卫生院")) or 0

        # The county's hospital and a township of it: where the demo doctors work.
        def workplace(username: str) -> str | None:
            where = select(User.institution_id).where(User.username == username).scalar_subquery()
            return session.scalar(select(Institution.name).where(Institution.id == where))

        hospital, township = workplace("ys1"), workplace("jtys1")
    engine.dispose()
    assert townships > 0 and township and hospital

    page = browser.new_page(locale="zh-CN", accept_downloads=True)
    sign_in(page, base, "admin")
    page.get_by_role("menuitem", name="医疗机构").click()
    expect(page).to_have_url(f"{base}/app/registry/institutions")
    choose(page, "机构类型")
    page.get_by_role("option", name="乡镇卫生院").click()
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".el-pagination__total")).to_have_text(f"共 {townships} 条")
    expect(page.locator(".el-table__row").first).to_contain_text("乡镇卫生院")
    screenshot(page, "registry-institutions")
    with page.expect_download() as download:
        page.get_by_role("button", name="导出Excel").click()
    saved = tmp_path / "institutions.xlsx"
    download.value.save_as(saved)
    import openpyxl

    rows = list(openpyxl.load_workbook(saved, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 1 + townships and {r[4] for r in rows[1:]} == {
        "乡镇卫生院"
    }  # the whole filtered list

    # A new doctor of the county hospital, then posted to a township (县管乡用).
    page.get_by_role("menuitem", name="人员与派驻").click()
    page.get_by_role("button", name="新增人员").click()
    dialog = page.get_by_role("dialog", name="新增人员")
    dialog.get_by_label("姓名").fill("欧阳明")
    dialog.get_by_label("工号").fill("JRN-0001")
    pick_institution(page, dialog, "所属机构", hospital)
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已登记人员：欧阳明")).to_be_visible()
    page.locator("input[name=q]").fill("欧阳明")
    page.get_by_role("button", name="查询").click()
    row = page.locator(".el-table__row", has_text="欧阳明")
    expect(row).to_contain_text(hospital)
    row.get_by_role("button", name="派驻记录").click()
    postings = page.get_by_role("dialog", name="欧阳明的派驻记录")
    expect(postings).to_contain_text("尚无派驻记录")
    pick_institution(page, postings, "派驻机构", township)
    postings.get_by_label("开始日期").fill("2026-06-01")
    postings.get_by_label("开始日期").press("Enter")
    postings.get_by_role("button", name="登记派驻").click()
    expect(page.get_by_text("已为欧阳明登记派驻")).to_be_visible()
    expect(postings.locator(".el-table__row")).to_contain_text(township)
    expect(postings.locator(".el-table__row")).to_contain_text("在岗")
    screenshot(page, "registry-staff-postings")
    page.close()

    engine = make_engine(url)
    with Session(engine) as session:
        staff = session.scalar(select(Staff).where(Staff.code == "JRN-0001"))
        assert staff is not None
        assert (
            session.scalar(
                select(func.count()).where(Posting.staff_id == staff.id, Posting.kind == "县管乡用")
            )
            == 1
        )
    engine.dispose()


def test_doctor_registers_imports_and_adds_a_guardian(
    county: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        doctor = session.scalar(select(User).where(User.username == "jtys1"))
        assert doctor is not None
        region = session.scalar(
            select(Institution.region_code).where(Institution.id == doctor.institution_id)
        )
        grid_id = session.scalar(
            select(UserGrid.grid_id).where(UserGrid.user_id == doctor.id).order_by(UserGrid.grid_id)
        )
    engine.dispose()
    assert region
    child = make_id_number(region, date(2019, 3, 8), 471, "M")
    parent_number = make_id_number(region, date(1990, 7, 2), 472, "F")
    good = make_id_number(region, date(1975, 1, 9), 473, "M")

    # The parent is registered beforehand through the API.
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/auth/token", json={"username": "jtys1", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        made = http.post(
            "/api/residents",
            headers=headers,
            json={"id_number": parent_number, "name": "闻淑芬", "grid_id": grid_id},
        )
        assert made.status_code in (200, 201), made.text

    page = browser.new_page(locale="zh-CN")
    sign_in(page, base, "jtys1")
    page.get_by_role("menuitem", name="居民档案").click()

    # Register: a wrong ID number first, the API's message beside the field.
    page.get_by_role("button", name="登记居民").click()
    dialog = page.get_by_role("dialog", name="登记居民")
    dialog.get_by_label("身份证号").fill(child[:-1] + ("0" if child[-1] != "0" else "1"))
    dialog.get_by_label("姓名").fill("闻小宇")
    choose(page, "所属网格")
    page.locator(".el-select-dropdown__item:visible").first.click()
    dialog.get_by_role("button", name="登记").click()
    expect(dialog.locator(".el-form-item__error")).to_contain_text("校验")
    screenshot(page, "registry-register-error")
    dialog.get_by_label("身份证号").fill(child)
    dialog.get_by_role("button", name="登记").click()
    expect(page.get_by_text("已登记：闻小宇")).to_be_visible()
    expect(page.locator(".el-descriptions__title")).to_have_text("闻小宇")

    # The guardian: the parent, found by name.
    page.get_by_role("button", name="添加监护人").click()
    guardian = page.get_by_role("dialog", name="添加监护人")
    box = guardian.get_by_role("combobox", name="监护人")
    box.click()
    box.fill("闻淑芬")
    page.get_by_role("option", name="闻淑芬").first.click()
    guardian.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已登记监护人")).to_be_visible()

    # Import a sheet with one bad row: nothing is written, the row is named.
    sheet = tmp_path / "居民.csv"
    sheet.write_text(f"身份证号,姓名,电话\n{good},柏成林,13900001234\n123456,坏数据,\n", encoding="utf-8-sig")
    page.get_by_role("menuitem", name="居民档案").click()
    page.get_by_role("button", name="导入居民").click()
    upload = page.get_by_role("dialog", name="导入居民（Excel或CSV）")
    upload.get_by_label("选择导入文件").set_input_files(str(sheet))
    expect(upload).to_contain_text("未写入任何数据")
    errors = upload.locator(".el-table__row")
    expect(errors.first).to_contain_text("第3行")
    expect(errors.first).to_contain_text("身份证号")
    screenshot(page, "registry-import-errors")
    page.close()

    engine = make_engine(url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(Resident.id_number == good)) == 0  # all or nothing
        assert session.scalar(select(func.count()).where(Resident.id_number == child)) == 1
    engine.dispose()


def test_an_unknown_page_is_a_chinese_html_404(county: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    base, _ = county
    page = browser.new_page(locale="zh-CN")
    answer = page.goto(f"{base}/no-such-page")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    screenshot(page, "registry-404")
    page.get_by_role("link", name="返回工作台首页").click()
    expect(page).to_have_url(re.compile(r"/app/login"))
    page.close()
