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

    from yilian.models import ChronicRegister, RiskAssessment

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


def test_commission_opens_the_ranking_and_exports_the_evaluation(
    live_server: tuple[str, str], tmp_path: Path
) -> None:
    """The demo evaluates the township health centres under 002's annex for two years."""
    import openpyxl
    from playwright.sync_api import expect, sync_playwright

    base, _ = live_server
    last_year = date.today().year - 1
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(locale="zh-CN", accept_downloads=True)
        page.goto(f"{base}/login?next=/evaluation")
        page.get_by_label("用户名").fill("admin")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="监测评价与动态调整")).to_be_visible()
        # The indicator dashboard first: values with numerator and denominator, a chart, drill-down.
        page.get_by_role("link", name="监测指标").click()
        expect(page.get_by_role("heading", name="监测指标")).to_be_visible()
        expect(page.locator("#targets canvas")).to_have_count(1)
        expect(page.locator("tr[data-testid^='ind-signing_rate-']")).to_have_count(1)
        page.get_by_role("link", name="灵武市").first.click()
        expect(page.get_by_role("heading", name="监测指标 · 机构明细")).to_be_visible()
        expect(page.locator("tr[data-testid^='ind-signing_rate-']").first).to_be_visible()
        page.get_by_role("link", name="监测评价").click()
        expect(page.get_by_text("满分 1000.00 分，加分项最高 100.00 分")).to_be_visible()
        expect(page.locator("#ranking canvas")).to_have_count(1)  # the ECharts chart drew
        expect(page.locator("tbody tr[data-testid^='rank-']")).to_have_count(12)
        expect(page.locator("td .tag.warn", has_text="黄牌")).to_have_count(2)
        with page.expect_download() as download:
            page.get_by_test_id("export").click()
        saved = tmp_path / "evaluation.xlsx"
        download.value.save_as(saved)
        browser.close()
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames == [f"{last_year}年排名", "亮黄牌记录", "说明"]
    ranking = list(book[f"{last_year}年排名"].iter_rows(min_row=2, values_only=True))
    assert len(ranking) == 12 and ranking[0][1] == 1
    assert len(list(book["亮黄牌记录"].iter_rows(min_row=2))) == 4  # two cards a year, two years
