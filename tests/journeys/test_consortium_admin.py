"""The consortium's and the institution's administrators on screen: a team formed by role (the missing
health manager named beside the field), service packages imported (a bad row shown) and exported, a
quarantined DICOM study matched to its patient; a week of sessions published with the reserved places
in the week view, the same-day extra slot, the reserved share changed, a QC result recorded."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.diagnostics import study_files
from tests.journeys.helpers import CLOCK, PASSWORD, sign_in
from tests.journeys.helpers import screenshot as take_screenshot
from yilian.auth import rules as roles
from yilian.auth.service import do_create_api_token, do_create_user
from yilian.family_doctor.packages import PACKAGE_COLUMNS
from yilian.kit.db import make_engine
from yilian.kit.tabular import write_xlsx
from yilian.models import ConsortiumMember, Institution, Schedule, Staff, User
from yilian.scheduling import rules as booking_rules

pytestmark = pytest.mark.browser


def screenshot(page: Any, name: str) -> None:
    """The screen once Element Plus's fade-in has finished (a capture mid-transition looks washed out)."""
    page.wait_for_timeout(350)
    take_screenshot(page, name)


def pick(page: Any, select: Any, option: str) -> None:
    """Opens an Element Plus select, clicks the option in its (only) open list and waits for it to close."""
    from playwright.sync_api import expect

    select.click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()
    expect(page.locator(".el-select-dropdown:visible")).to_have_count(0)


def test_consortium_admin_forms_a_team_keeps_packages_and_resolves_a_quarantined_study(
    county: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        admin = session.scalar(select(User).where(User.username == "ygt1"))
        assert admin is not None and admin.consortium_id is not None
        members = list(
            session.scalars(
                select(Institution)
                .join(ConsortiumMember, ConsortiumMember.institution_id == Institution.id)
                .where(
                    ConsortiumMember.consortium_id == admin.consortium_id, ConsortiumMember.left_on.is_(None)
                )
                .order_by(Institution.id)
            )
        )

        def first_staff(institutions: list[Institution], nth: int = 0) -> tuple[str, str]:
            for institution in institutions:
                staff = list(
                    session.scalars(
                        select(Staff).where(Staff.home_institution_id == institution.id).order_by(Staff.id)
                    )
                )
                if len(staff) > nth:
                    return institution.name, f"{staff[nth].name}（{staff[nth].practitioner_type}）"
            raise AssertionError("no staff")

        county_level = [i for i in members if not i.is_grassroots]
        grassroots = [i for i in members if i.is_grassroots]
        township = grassroots[0].name
        team_roles = {
            "村医": first_staff(grassroots[1:] or grassroots),
            "全科医生": first_staff(grassroots[:1]),
            "专科医生": first_staff(county_level),
            "健康管理师": first_staff(grassroots[:1], nth=1),
        }
        # Arrange: a township doctor's upload that could not be filed (a patient unknown in the county).
        uploader = session.scalar(select(User).where(User.username == "jtys1"))
        assert uploader is not None
        token = do_create_api_token(session, user=uploader, name="journey", now=CLOCK.now())
        session.commit()
    engine.dispose()
    files = study_files(patient_id="110101199003074518", accession="", instances=1)
    sent = httpx.post(
        f"{base}/api/diagnostics/dicom",
        files=[("files", ("CT0001.dcm", files[0][1], "application/dicom"))],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert sent.status_code == 200 and sent.json()["quarantined"] == 1, sent.text

    page = browser.new_page(locale="zh-CN")
    sign_in(page, base, "ygt1", "/app/admin/teams")

    # -- a team: first without a health manager (named beside the field), then complete --------------
    page.get_by_role("button", name="组建团队").click()
    dialog = page.get_by_role("dialog", name="组建家庭医生团队")
    dialog.get_by_label("团队编码").fill("T-JOURNEY-01")
    dialog.get_by_label("团队名称").fill("城关镇旅程家庭医生团队")
    pick(page, dialog.locator(".team-institution"), township)
    lines = dialog.locator(".member-line")
    for index, role in enumerate(("村医", "全科医生", "专科医生")):
        institution, staff = team_roles[role]
        pick(page, lines.nth(index).locator(".member-institution"), institution)
        pick(page, lines.nth(index).locator(".member-staff"), staff)
    dialog.get_by_role("button", name="保存团队").click()
    expect(dialog.get_by_text("团队须包含健康管理师（004 §3.3）")).to_be_visible()
    screenshot(page, "admin-team-error")
    institution, staff = team_roles["健康管理师"]
    pick(page, lines.nth(3).locator(".member-institution"), institution)
    pick(page, lines.nth(3).locator(".member-staff"), staff)
    dialog.get_by_role("button", name="保存团队").click()
    expect(page.get_by_text("团队已组建")).to_be_visible()
    page.get_by_label("团队名称/编码").fill("旅程")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("cell", name="城关镇旅程家庭医生团队")).to_be_visible()
    expect(page.get_by_role("cell", name=team_roles["健康管理师"][1].split("（")[0]).first).to_be_visible()
    screenshot(page, "admin-teams")

    # -- packages: an import with a bad row saves nothing and shows the row; then right; then export --
    page.get_by_role("menuitem", name="签约服务包").click()
    good = [
        "JOURNEY-GXY",
        "旅程高血压包",
        "高血压",
        "每季度随访、血压监测",
        "120.00",
        "40",
        "30",
        "2026-01-01",
        "",
    ]
    bad = ["JOURNEY-TNB", "旅程糖尿病包", "糖尿病", "季度随访", "150.00", "80", "30", "2026-01-01", ""]
    wrong, right = tmp_path / "服务包-有错.xlsx", tmp_path / "服务包.xlsx"
    wrong.write_bytes(write_xlsx(PACKAGE_COLUMNS, [good, bad]))
    right.write_bytes(write_xlsx(PACKAGE_COLUMNS, [good]))
    page.locator("input[name=package-file]").set_input_files(str(wrong))
    expect(page.get_by_text("导入失败，未写入任何数据")).to_be_visible()
    problems = page.locator(".import-problems")
    expect(problems.get_by_role("cell", name="3", exact=True)).to_be_visible()
    expect(problems.get_by_role("cell", name="医保分担(%)")).to_be_visible()
    screenshot(page, "admin-packages-import-error")
    page.locator("input[name=package-file]").set_input_files(str(right))
    expect(page.get_by_text("导入成功：共写入 1 个服务包")).to_be_visible()
    page.get_by_label("名称/编码").fill("旅程")
    page.get_by_role("button", name="查询").click()
    imported = page.get_by_role("row", name="旅程高血压包")
    expect(imported.get_by_role("cell", name="36.00")).to_be_visible()  # what the resident pays
    expect(page.get_by_text("共 1 条")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="导出Excel").click()
    assert download.value.suggested_filename == "packages.xlsx"
    screenshot(page, "admin-packages")

    # -- the shared centres and the recognition catalogue, by name ---------------------------------------
    page.get_by_role("menuitem", name="共享中心与互认").click()
    expect(page.get_by_role("cell", name="影像诊断中心").first).to_be_visible()
    screenshot(page, "admin-centres")

    # -- the quarantined study: why, in words; matched to the right patient ----------------------------
    page.get_by_role("menuitem", name="影像隔离区").click()
    row = page.get_by_role("row", name="CT0001.dcm")
    expect(row.get_by_text("找不到对应居民")).to_be_visible()
    screenshot(page, "admin-quarantine")
    row.get_by_role("button", name="处理").click()
    resolve = page.get_by_role("dialog", name="处理隔离影像：CT0001.dcm")
    resolve.get_by_role("button", name="确认处理").click()
    expect(resolve.get_by_text("请填写该影像实际所属的患者")).to_be_visible()
    resolve.get_by_label("实际患者").fill("王建国 身份证后四位4518")
    resolve.get_by_label("检查申请号").fill("A20261207001")
    resolve.get_by_role("button", name="确认处理").click()
    expect(page.get_by_text("已处理该影像")).to_be_visible()
    expect(page.get_by_role("row", name="CT0001.dcm")).to_have_count(0)
    page.get_by_text("全部（含已处理）").click()
    expect(page.get_by_text("已匹配：患者王建国 身份证后四位4518，检查申请号A20261207001")).to_be_visible()


def test_institution_admin_publishes_a_week_changes_the_share_and_records_qc(
    county: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, url = county
    engine = make_engine(url)
    with Session(engine) as session:
        # Arrange: the township's administrator and its general clinic, for the same-day extra slot.
        doctor = session.scalar(select(User).where(User.username == "jtys1"))
        assert doctor is not None and doctor.institution_id is not None
        township_admin = "journey-township-admin"
        do_create_user(
            session,
            username=township_admin,
            password=PASSWORD,
            role=roles.INSTITUTION_ADMIN,
            now=CLOCK.now(),
            institution_id=doctor.institution_id,
            settings=CHEAP_SETTINGS,
        )
        clinic = Schedule(institution_id=doctor.institution_id, kind="clinic", name="全科门诊")
        session.add(clinic)
        session.commit()
        township_schedule = clinic.id
    engine.dispose()
    page = browser.new_page(locale="zh-CN")
    sign_in(page, base, "yy1", "/app/admin/schedules")

    # -- a schedule, and a week of sessions published ------------------------------------------------
    page.get_by_role("button", name="新增排班").click()
    new = page.get_by_role("dialog", name="新增排班")
    new.get_by_label("名称").fill("心内科旅程专家门诊")
    new.get_by_role("button", name="保存").click()
    expect(page.get_by_text("排班已新增")).to_be_visible()
    page.get_by_label("排班/科室/医生").fill("旅程")
    page.get_by_role("button", name="查询").click()
    row = page.get_by_role("row", name="心内科旅程专家门诊")
    row.get_by_role("button", name="发布号源").click()
    publish = page.get_by_role("dialog", name="发布号源：心内科旅程专家门诊")
    today = CLOCK.now().date()
    monday = today + timedelta(days=7 - today.weekday())
    friday = monday + timedelta(days=4)
    publish.get_by_placeholder("开始日期").fill(monday.isoformat())
    publish.get_by_placeholder("结束日期").fill(friday.isoformat())
    publish.get_by_placeholder("结束日期").press("Enter")
    publish.get_by_role("button", name="发布").click()
    reserved = len(booking_rules.reserved_positions(16, booking_rules.MIN_RESERVED_PERMILLE))
    expect(page.get_by_text(f"发布 5 天共 80 个号源，其中预留基层转诊 {5 * reserved} 个")).to_be_visible()
    screenshot(page, "admin-schedules")

    # -- the week view: reserved places each day -------------------------------------------------------
    row.get_by_role("button", name="号源周视图").click()
    page.get_by_role("button", name="下一周").click()
    first_day = page.locator(f"[data-day='{monday.isoformat()}']")
    expect(first_day.locator(".reserved-count")).to_have_text(str(reserved))
    expect(first_day.get_by_text("已约 0/16")).to_be_visible()
    screenshot(page, "admin-schedule-week")

    # -- same-day extra slot: only grassroots add them (001 §2.1 "开放基层当日加号"); the county
    # hospital's own administrator is refused by the rule, in words ------------------------------------
    page.get_by_role("button", name="当日加号").click()
    extra = page.get_by_role("dialog", name="当日加号")
    extra.get_by_role("button", name="加号").click()
    expect(extra.get_by_text("只有基层医疗机构和家庭医生可以申请当日加号")).to_be_visible()
    extra.get_by_role("button", name="取消").click()

    # -- same-day extra slot at a township (the grassroots side of 当日加号) -------------------------------
    extra_page = browser.new_page(locale="zh-CN")
    sign_in(extra_page, base, township_admin, f"/app/admin/schedules/{township_schedule}")
    extra_page.get_by_role("button", name="当日加号").click()
    extra_page.get_by_role("dialog", name="当日加号").get_by_role("button", name="加号").click()
    expect(extra_page.get_by_text("已加号")).to_be_visible()
    today_column = extra_page.locator(f"[data-day='{today.isoformat()}']")
    expect(today_column.get_by_text("加号 1")).to_be_visible()
    screenshot(extra_page, "admin-extra-slot")
    extra_page.close()

    # -- the reserved share: over the ceiling is named beside the field; then a higher share saved ----
    page.get_by_role("menuitem", name="预约政策与号源报表").click()
    share = page.locator(".reserved-share input")
    expect(share).to_have_value("20")
    share.fill("80")
    share.blur()
    page.get_by_role("button", name="保存政策").click()
    expect(page.get_by_text("预留比例不得高于卫生健康委设定的上限")).to_be_visible()
    share.fill("30")
    share.blur()
    page.get_by_role("button", name="保存政策").click()
    expect(page.get_by_text("预约政策已保存")).to_be_visible()
    expect(page.get_by_text(f"{today.year}年 30%")).to_be_visible()
    screenshot(page, "admin-booking-policy")

    # -- a QC result recorded ------------------------------------------------------------------------------
    page.get_by_role("menuitem", name="质控记录").click()
    page.get_by_role("button", name="登记质控结果").click()
    qc = page.get_by_role("dialog", name="登记质控结果")
    qc.get_by_text("室间质评").click()
    valid = qc.locator(".valid-until input")
    valid.fill(f"{today.year + 1}-06-30")
    valid.press("Enter")
    qc.get_by_label("说明").fill("省临检中心第二次室间质评")
    qc.get_by_role("button", name="登记").click()
    expect(page.get_by_text("质控记录已登记")).to_be_visible()
    expect(page.get_by_role("cell", name="省临检中心第二次室间质评")).to_be_visible()
    expect(page.get_by_role("cell", name="室间质评").first).to_be_visible()
    screenshot(page, "admin-qc")
