"""The medical-insurance officer (医保经办, demo user yb1) through the browser alone: a what-if of the
consortium's global-budget settlement beside the baseline, saved, listed and exported; the DRG cases
with one case's grouping trace, CMI and point value per institution and the high-cost outliers; a
claims file with a bad row refused with the row's error, then the corrected file imported."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.journeys.helpers import CLOCK, PASSWORD, screenshot, sign_in
from yilian.kit.db import make_engine
from yilian.models import Claim, Institution, Resident

pytestmark = pytest.mark.browser


def signed_in_page(browser: Any, base: str) -> Any:
    page = browser.new_page(locale="zh-CN", accept_downloads=True, viewport={"width": 1440, "height": 900})
    sign_in(page, base, "yb1", "/app/login")
    return page


def test_officer_runs_a_what_if_saves_it_and_reads_the_drg_cases(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, _ = county
    this_year = CLOCK.now().date().year
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/auth/token", json={"username": "yb1", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        high = http.get(
            "/api/drg/cases", params={"year": this_year, "outlier": "high", "limit": 1}, headers=headers
        )
        assert high.status_code == 200, high.text
        outliers = high.json()["total"]

    page = signed_in_page(browser, base)
    page.get_by_role("menuitem", name="总额付费清算").click()
    expect(page).to_have_url(re.compile(r"/app/insurance/settlement$"))
    baseline, what_if = page.get_by_test_id("baseline-card"), page.get_by_test_id("what-if-card")
    # The first run of a process loads the DRG scheme (about a second) before the two settlements.
    expect(baseline).to_contain_text("年终清算", timeout=30_000)
    expect(what_if).to_contain_text("年终清算")
    retained = page.get_by_test_id("comparison").get_by_role("row", name=re.compile("^结余留用（医共体）"))
    expect(retained).to_be_visible()

    # What if the consortium kept 60 % of the surplus instead of 80 %: the line differs from the baseline.
    page.get_by_label("结余留用比例").fill("60")
    page.get_by_role("button", name="测算", exact=True).click()
    expect(retained.locator("td").nth(4)).to_have_text(re.compile(r"^-[\d,]+\.\d\d$"))
    expect(page.locator("canvas").first).to_be_visible()
    screenshot(page, "insurance-settlement")

    page.get_by_role("button", name="保存测算结果").click()
    expect(page.get_by_text("测算结果已保存")).to_be_visible()
    saved = page.get_by_test_id("saved")
    expect(saved.get_by_role("row").nth(1)).to_contain_text(str(this_year - 1))
    with page.expect_download() as download:
        page.get_by_role("button", name="导出Excel").click()
    assert download.value.suggested_filename == "settlements.xlsx"

    page.get_by_role("menuitem", name="DRG病例").click()
    cases = page.get_by_test_id("drg-cases")
    expect(cases.locator("tbody tr").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"共 [1-9]\d* 例"))).to_be_visible()
    cases.get_by_role("button", name="分组过程").first.click()
    trace = page.get_by_test_id("trace")
    expect(trace).to_contain_text("分组器的判断依据")
    expect(trace.get_by_text(re.compile(r"^符合MDC.入组条件"))).to_be_visible()
    screenshot(page, "insurance-drg-trace")
    page.keyboard.press("Escape")

    page.get_by_role("menuitem", name="机构CMI与点值").click()
    expect(page.get_by_test_id("point-value")).to_contain_text("元/点")
    expect(page.get_by_test_id("cmi-table").locator("tbody tr").first).to_be_visible()
    screenshot(page, "insurance-drg-cmi")

    page.get_by_role("menuitem", name="高/低倍率病例").click()
    expect(page.get_by_text("高倍率病例：住院总费用高于")).to_be_visible()
    expect(page.get_by_text(f"共 {outliers} 例")).to_be_visible()
    if outliers:
        expect(page.get_by_test_id("drg-cases").get_by_text("高倍率").first).to_be_visible()
    screenshot(page, "insurance-drg-outliers")
    page.close()


def test_officer_imports_claims_and_sees_the_bad_rows_error(
    county: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        resident = session.scalars(
            select(Resident).where(Resident.status == "active").order_by(Resident.id)
        ).first()
        institution = session.scalars(
            select(Institution).where(Institution.is_grassroots).order_by(Institution.id)
        ).first()
        assert resident is not None and institution is not None
        person, code = resident.id_number, institution.code
    header = "结算单号,身份证号,机构编码,机构名称,就诊类型,结算日期,总费用,统筹支付,县外,就诊编号\n"
    good = f"J-INS-1,{person},{code},,门诊,2026-03-02,120.00,80.00,否,\n"
    bad_file, good_file = tmp_path / "结算-有误.csv", tmp_path / "结算.csv"
    bad_file.write_text(
        header + good + f"J-INS-2,{person},{code},,门诊,2026-13-01,50,20,否,\n", encoding="utf-8"
    )
    good_file.write_text(header + good, encoding="utf-8")

    page = signed_in_page(browser, base)
    page.get_by_role("menuitem", name="结算数据导入").click()
    page.get_by_role("button", name="导入结算数据").click()
    page.locator(".el-dialog input[type=file]").set_input_files(str(bad_file))
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_text("结算数据有1处错误，未导入任何一行")).to_be_visible()
    problem = page.get_by_test_id("import-errors").locator("tbody tr")
    expect(problem).to_have_count(1)
    expect(problem.locator("td").nth(0)).to_have_text("3")
    expect(problem.locator("td").nth(1)).to_have_text("结算日期")
    expect(problem.locator("td").nth(2)).to_have_text("结算日期格式应为YYYY-MM-DD")
    screenshot(page, "insurance-claims-errors")

    page.get_by_role("button", name="关闭", exact=True).click()
    page.get_by_role("button", name="导入结算数据").click()
    page.locator(".el-dialog input[type=file]").set_input_files(str(good_file))
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_test_id("import-done")).to_contain_text("已导入 1 条结算记录")
    page.close()
    with Session(engine) as session:
        assert session.scalar(select(Claim.fund_fen).where(Claim.claim_no == "J-INS-1")) == 8000
    engine.dispose()
