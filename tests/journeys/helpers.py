"""What several journeys do the same way: the county's clock, the demo password, screenshots of main
screens, signing in on the login form, and opening an Element Plus select."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from yilian.config import PROJECT_ROOT

PASSWORD = "Demo-Pass-2026"


class RunningClock:
    """The journeys' time: it starts at the county's day and runs with real time. The served app, the
    browser (Playwright's clock) and the tests' own arrangements all read it, so a journey sees the
    county on the day it was built for whatever the calendar says."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now()

    def now(self) -> datetime:
        return datetime.now() + self.offset


# The county is built for 2026-11-24 (conftest); 09:30, so no run crosses midnight.
COUNTY_DAY = date(2026, 11, 24)
CLOCK = RunningClock(datetime(2026, 11, 24, 9, 30))


def now() -> datetime:
    return CLOCK.now()


def today() -> date:
    return CLOCK.now().date()
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, username: str, path: str = "/app/") -> None:
    """Opens `path` (the app sends a signed-out visitor to its login form) and signs in as `username`."""
    page.goto(f"{base}{path}")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def choose(page: Any, label: str) -> None:
    """Opens an Element Plus select by its label (its placeholder takes the click, not the input)."""
    page.locator(".el-select", has=page.get_by_role("combobox", name=label)).click()
