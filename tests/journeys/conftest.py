"""The journeys run in Debian's Chromium against a served synthetic county, one per test session,
and write screenshots of their main screens to var/screenshots/ (named in the README)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.live import live_app
from tests.journeys.helpers import CLOCK, COUNTY_DAY, PASSWORD
from yilian.config import Settings
from yilian.kit.migrate import upgrade
from yilian.synth.build import build_synthetic_region

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of a served 3,000-resident county."""
    live = tmp_path_factory.mktemp("journeys")
    url = f"sqlite:///{live / 'county.db'}"
    upgrade(url)
    build_synthetic_region(
        url, residents_per_county=3000, seed=7, demo_password=PASSWORD, console=Console(quiet=True),
        today=COUNTY_DAY,
        settings=CHEAP_SETTINGS,
    )
    with live_app(Settings(database_url=url, dicom_dir=str(live / "dicom")), clock=CLOCK) as base:
        yield base, url


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: scripts/test installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield ClockedBrowser(chromium)
        chromium.close()


class ClockedBrowser:
    """Chromium whose pages read the journeys' clock (`Date` starts at the county's time and runs)."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def new_context(self, **options: Any) -> Any:
        context = self.browser.new_context(**options)
        context.clock.install(time=CLOCK.now())
        return context

    def new_page(self, **options: Any) -> Any:
        page = self.browser.new_page(**options)
        page.clock.install(time=CLOCK.now())
        return page
