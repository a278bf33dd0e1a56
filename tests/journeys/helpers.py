"""What several journeys do the same way: the demo password, screenshots of main screens, signing in
on the login form, and opening an Element Plus select."""

from __future__ import annotations

from typing import Any

from yilian.config import PROJECT_ROOT

PASSWORD = "Demo-Pass-2026"
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
