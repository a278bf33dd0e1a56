"""A page's error as a server serves it: the request's own session, closed after its rollback (no test
override keeps it open). The error page still shows the signed-in account's name and menu, and the
error in Chinese and English — it is not a dropped connection."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from tests.auth.test_web_login import login
from tests.factories.auth import PASSWORD
from tests.factories.world import build_world
from yilian.app import create_app
from yilian.config import Settings
from yilian.kit.clock import FixedClock
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade


def test_a_page_error_renders_for_a_signed_in_user(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    with sessionmaker(engine, expire_on_commit=False)() as setup:
        world = build_world(setup)
        username, display_name = world.doctor.username, world.doctor.display_name
        setup.commit()
    settings = Settings(database_url=fresh_database_url, secret_key="test", gc_freeze=False)
    app = create_app(settings, clock=FixedClock(datetime(2026, 11, 24, 9)))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert login(client, username, PASSWORD) == 303
        missing_field = client.get("/booking")  # the booking page needs ?resident_id=
        not_found = client.get("/residents/999999")
    assert missing_field.status_code == 422, missing_field.text[:300]
    assert "resident_id" in missing_field.text and display_name in missing_field.text
    assert not_found.status_code == 404 and display_name in not_found.text
    assert "居民" in not_found.text  # the menu a doctor sees, and the message
    engine.dispose()
