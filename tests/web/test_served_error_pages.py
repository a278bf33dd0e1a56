"""Errors as a server serves them: a browser gets an HTML page in Chinese with a way back (an unknown
path, a refusal, a failure), while /api/* keeps its bilingual JSON and /fhir/* its OperationOutcome.
A Jinja page's error still shows the signed-in account's name — it is not a dropped connection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from tests.factories.world import build_world
from yilian.app import create_app
from yilian.config import Settings
from yilian.kit.clock import FixedClock
from yilian.kit.db import make_engine
from yilian.kit.errors import Forbidden
from yilian.kit.migrate import upgrade

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def served(fresh_database_url: str) -> Iterator[tuple[TestClient, str, str]]:
    """A served app (its own sessions), with two routes that fail on purpose."""
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    with sessionmaker(engine, expire_on_commit=False)() as setup:
        world = build_world(setup)
        username, display_name = world.doctor.username, world.doctor.display_name
        setup.commit()
    settings = Settings(database_url=fresh_database_url, secret_key="test")
    app = create_app(settings, clock=FixedClock(datetime(2026, 11, 24, 9)))

    def refuse() -> None:
        raise Forbidden("只有管理员可以打开此页", "Only administrators open this page")

    def fail() -> None:
        raise RuntimeError("a bug with a secret inside")

    for prefix in ("", "/api"):
        app.add_api_route(f"{prefix}/test-refused", refuse)
        app.add_api_route(f"{prefix}/test-failure", fail)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, username, display_name
    engine.dispose()


def test_a_browser_gets_chinese_html_for_404_403_and_500(served: tuple[TestClient, str, str]) -> None:
    client, _, _ = served
    unknown = client.get("/no-such-page", headers=HTML)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "页面不存在" in unknown.text and 'href="/app/"' in unknown.text
    refused = client.get("/test-refused", headers=HTML)
    assert (
        refused.status_code == 403 and "无权访问" in refused.text and "只有管理员可以打开此页" in refused.text
    )
    failed = client.get("/test-failure", headers=HTML)
    assert failed.status_code == 500 and "服务器出错了" in failed.text
    assert "secret" not in failed.text and "Traceback" not in failed.text
    # A way back: the page the browser came from, when it is one of ours.
    back = client.get("/no-such-page", headers={**HTML, "Referer": "http://testserver/app/residents"})
    assert 'href="/app/residents"' in back.text
    elsewhere = client.get("/no-such-page", headers={**HTML, "Referer": "https://evil.example/x"})
    assert "evil.example" not in elsewhere.text


def test_api_and_fhir_keep_their_machine_answers(served: tuple[TestClient, str, str]) -> None:
    client, _, _ = served
    unknown = client.get("/api/no-such-thing", headers=HTML)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/json")
    refused = client.get("/api/test-refused", headers=HTML)
    assert (
        refused.status_code == 403
        and refused.json()["error"]["message_en"] == "Only administrators open this page"
    )
    failed = client.get("/api/test-failure", headers=HTML)
    assert failed.status_code == 500
    assert failed.json()["error"]["message_zh"] and "secret" not in failed.text
    fhir = client.get("/fhir/NoSuchType", headers=HTML)
    assert fhir.status_code in (401, 404) and fhir.json()["resourceType"] == "OperationOutcome"
    plain = client.get("/no-such-page", headers={"Accept": "*/*"})  # not a browser: JSON as before
    assert plain.status_code == 404 and plain.headers["content-type"].startswith("application/json")
