"""End to end in Debian's Chromium: log in, search a resident, open the resident page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.live import live_app
from yilian.config import Settings
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import Resident, User, UserGrid
from yilian.synth.build import build_synthetic_region

pytestmark = pytest.mark.browser
SENT: list[tuple[str, str]] = []


class Outbox:
    """The live server's SMS gateway: the test reads the login code from here."""

    def send(self, phone: str, text: str) -> None:
        SENT.append((phone, text))


CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Demo-Pass-2026"


def launch(playwright: Any) -> Any:
    """Debian's Chromium, without the background traffic this closed network refuses."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    live = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{live / 'live.db'}"
    upgrade(url)
    build_synthetic_region(
        url,
        residents_per_county=3000,
        seed=3,
        demo_password=PASSWORD,
        console=Console(quiet=True),
        today=date.today(),
    )
    settings = Settings(
        secret_key="test",
        database_url=url,
        dicom_dir=str(live / "dicom"),
        sms_sender="tests.web.test_browser:Outbox",
    )
    with live_app(settings) as base:
        yield base, url


def test_family_doctor_logs_in_searches_and_opens_a_resident(
    live_server: tuple[str, str], tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: scripts/test installs it (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    base, url = live_server
    engine = make_engine(url)
    with Session(engine) as session:
        grid_ids = session.scalars(
            select(Resident.grid_id).join(User, User.resident_id == Resident.id).where(User.username == "jm1")
        ).all()
        resident = session.scalar(
            select(Resident).where(Resident.grid_id.in_(grid_ids)).order_by(Resident.id)
        )
        assert resident is not None
    engine.dispose()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{base}/residents")
        expect(page).to_have_url(re.compile(r"/login"))
        page.get_by_label("用户名").fill("jtys1")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_label("查询条件").fill(resident.name)
        page.get_by_role("button", name="查询").click()
        masked = resident.id_number[:6] + "********" + resident.id_number[-4:]
        expect(page.get_by_role("cell", name=masked).first).to_be_visible()
        page.get_by_role("link", name=resident.name).first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(resident.name)
        expect(page.get_by_test_id("id-number")).to_have_text(resident.id_number)
        page.screenshot(path=str(tmp_path / "resident.png"), full_page=True)
        browser.close()


def test_family_doctor_follows_up_a_red_patient(live_server: tuple[str, str]) -> None:
    from datetime import timedelta

    from playwright.sync_api import expect, sync_playwright

    from yilian.models import ChronicRegister, RiskAssessment, UserGrid

    base, url = live_server
    engine = make_engine(url)
    with Session(engine) as session:
        grids = (
            select(UserGrid.grid_id).join(User, User.id == UserGrid.user_id).where(User.username == "jtys1")
        )
        patient = session.execute(
            select(Resident.id, Resident.name)
            .join(ChronicRegister, ChronicRegister.resident_id == Resident.id)
            .join(
                RiskAssessment,
                (RiskAssessment.resident_id == Resident.id)
                & (RiskAssessment.disease == ChronicRegister.disease),
            )
            .where(
                Resident.grid_id.in_(grids),
                ChronicRegister.disease == "hypertension",
                ChronicRegister.colour == "red",
                RiskAssessment.rule_id != "HTN-T4",
            )
            .order_by(Resident.id)
        ).first()
    engine.dispose()
    assert patient is not None, "the synthetic county should give jtys1 a red hypertensive patient"
    today = date.today()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{base}/login?next=/family-doctor")
        page.get_by_label("用户名").fill("jtys1")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="家庭医生工作台")).to_be_visible()
        page.get_by_test_id("count-red").click()
        page.locator(f'a[href="/residents/{patient.id}/chronic"]').first.click()
        expect(page.get_by_test_id("colour-hypertension")).to_have_text("红")
        page.get_by_label("收缩压").fill("126")
        page.get_by_label("舒张压").fill("78")
        page.get_by_role("button", name="保存随访").click()
        expect(page.get_by_test_id("colour-hypertension")).to_have_text("绿")
        expect(page.get_by_test_id("due-hypertension")).to_have_text((today + timedelta(days=90)).isoformat())
        expect(page.get_by_role("cell", name="126/78")).to_be_visible()
        browser.close()


def test_township_orders_county_reads_township_sees_the_report(live_server: tuple[str, str]) -> None:
    """乡检查、县诊断 in the browser: jtys1 (township) orders a chest film and uploads the DICOM
    files, ys1 (county hospital, host of the imaging centre) reports, jtys1 reads the report."""
    from playwright.sync_api import expect, sync_playwright

    from yilian.synth.dicom import dicom_instance, new_uid

    base, url = live_server
    engine = make_engine(url)
    with Session(engine) as session:
        grids = (
            select(UserGrid.grid_id).join(User, User.id == UserGrid.user_id).where(User.username == "jtys1")
        )
        patient = session.execute(
            select(Resident.id, Resident.name, Resident.id_number)
            .where(Resident.grid_id.in_(grids))
            .order_by(Resident.id.desc())
        ).first()
    engine.dispose()
    assert patient is not None

    def log_in(page: Any, username: str, next_url: str) -> None:
        page.goto(f"{base}/login?next={next_url}")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()

    with sync_playwright() as playwright:
        browser = launch(playwright)
        township = browser.new_page(locale="zh-CN")
        log_in(township, "jtys1", f"/residents/{patient.id}")
        township.get_by_role("link", name="开具检查").click()
        township.get_by_label("检查项目").select_option("DR-CHEST")
        township.get_by_label("临床摘要").fill("咳嗽咳痰两周，发热")
        township.get_by_role("button", name="提交检查申请").click()
        expect(township.get_by_test_id("order-status")).to_have_text("已开单")
        accession = township.get_by_role("heading", level=1).inner_text().split()[-1]
        study, series = new_uid(), new_uid()
        township.goto(f"{base}/diagnostics/results")
        township.get_by_label("DICOM文件").set_input_files(
            [
                {
                    "name": f"IMG{n}.dcm",
                    "mimeType": "application/dicom",
                    "buffer": dicom_instance(
                        patient_id=patient.id_number,
                        accession_number=accession,
                        study_uid=study,
                        series_uid=series,
                        instance_number=n,
                    ),
                }
                for n in (1, 2)
            ]
        )
        township.get_by_role("button", name="上传").click()
        expect(township.get_by_test_id("notice")).to_contain_text("归档2个")

        reader = browser.new_context(locale="zh-CN").new_page()
        log_in(reader, "ys1", "/diagnostics/worklist")
        expect(reader.get_by_role("heading", name="读片工作台")).to_be_visible()
        row = reader.locator("tr", has_text=accession)
        expect(row).to_contain_text(patient.name)
        row.get_by_role("link", name="书写报告").click()
        expect(reader.get_by_test_id("study")).to_contain_text("2 幅图像")
        reader.get_by_label("检查所见").fill("右下肺野见斑片状模糊影")
        reader.get_by_label("诊断意见").fill("右下肺炎，建议抗感染治疗后复查")
        reader.get_by_role("button", name="签发报告").click()
        expect(reader.get_by_role("heading", name="读片工作台")).to_be_visible()
        expect(reader.locator("tr", has_text=accession)).to_have_count(0)

        township.goto(f"{base}/diagnostics/results?status=reported")
        township.locator("tr", has_text=accession).get_by_role("link", name="查看报告").click()
        expect(township.get_by_test_id("impression")).to_have_text("右下肺炎，建议抗感染治疗后复查")
        expect(township.get_by_test_id("order-status")).to_have_text("已出报告")
        browser.close()


def test_resident_logs_in_on_a_phone_opens_the_record_and_books(live_server: tuple[str, str]) -> None:
    """A phone-sized screen: code login bound to the ID number, the record, a public slot booked."""
    from playwright.sync_api import expect, sync_playwright

    from yilian.models import ExamOrder, ExamReport

    base, url = live_server
    engine = make_engine(url)
    with Session(engine) as session:
        # A resident with a phone and a reported exam in the demo county.
        resident = session.execute(
            select(Resident.id, Resident.name, Resident.phone, Resident.id_number, ExamReport.impression)
            .join(ExamOrder, ExamOrder.resident_id == Resident.id)
            .join(ExamReport, ExamReport.order_id == ExamOrder.id)
            .where(Resident.phone.is_not(None), Resident.status == "active")
            .order_by(Resident.id)
        ).first()
    engine.dispose()
    assert resident is not None
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        ).new_page()
        page.goto(f"{base}/portal")
        expect(page.get_by_role("heading", name="居民登录")).to_be_visible()
        page.get_by_label("手机号").fill(resident.phone)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.get_by_role("status")).to_contain_text("验证码已发送")
        code = re.search(r"验证码为(\d{6})", SENT[-1][1]).group(1)  # type: ignore[union-attr]
        assert SENT[-1][0] == resident.phone
        page.get_by_label("验证码").fill(code)
        page.get_by_label("身份证号").fill(resident.id_number)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_test_id("person")).to_have_text(resident.name)
        expect(page.locator("[data-testid=health-card] svg")).to_be_visible()
        page.get_by_role("link", name="档案").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("健康档案")
        expect(page.get_by_text(resident.impression).first).to_be_visible()
        page.get_by_role("link", name="预约").first.click()
        first_slot = page.locator("form[data-testid^=slot-]").first
        expect(first_slot).to_be_visible()
        first_slot.get_by_role("button", name="预约").click()
        expect(page.get_by_test_id("booked")).to_have_text("预约成功")
        expect(page.get_by_role("button", name="取消")).to_have_count(1)
        browser.close()
