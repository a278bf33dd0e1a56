"""Login, lockout after five failures, idle expiry, CSRF, bearer tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import PASSWORD, bearer
from tests.factories.world import build_world
from yilian.auth.passwords import verify_password
from yilian.kit.clock import FixedClock
from yilian.models import LoginFailure


def login(client: TestClient, username: str, password: str) -> int:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    return response.status_code


def test_password_is_stored_as_argon2id(session: Session) -> None:
    world = build_world(session)
    assert world.doctor.password_hash.startswith("$argon2id$")
    assert verify_password(world.doctor.password_hash, PASSWORD)


def test_login_then_pages_then_logout(client: TestClient, session: Session) -> None:
    world = build_world(session)
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert login(client, world.commission.username, PASSWORD) == 303
    home = client.get("/")
    assert home.status_code == 200 and "概览" in home.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_five_failures_lock_the_account(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    for _ in range(4):
        assert login(client, world.doctor.username, "Wrong-Pass-1") == 401
    assert login(client, world.doctor.username, "Wrong-Pass-1") == 423
    assert login(client, world.doctor.username, PASSWORD) == 423  # even the right password, while locked
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 5
    clock.advance(minutes=31)
    assert login(client, world.doctor.username, PASSWORD) == 303


def test_idle_session_expires(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    login(client, world.commission.username, PASSWORD)
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_form_without_csrf_is_refused(client: TestClient, session: Session) -> None:
    world = build_world(session)
    client.get("/login")
    response = client.post(
        "/login", data={"username": world.doctor.username, "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 403


def test_cookie_session_write_to_api_needs_csrf_header(client: TestClient, session: Session) -> None:
    world = build_world(session)
    login(client, world.consortium_admin.username, PASSWORD)
    body = {"survivor_id": world.resident_a.id, "merged_id": world.resident_b.id, "reason": "重复建档"}
    response = client.post("/api/residents/merge", json=body)
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message_en"]


def test_api_without_credentials_is_401(client: TestClient, session: Session) -> None:
    build_world(session)
    response = client.get("/api/residents")
    assert response.status_code == 401
    assert response.json()["error"]["message_zh"]


def test_token_endpoint_issues_a_working_token(client: TestClient, session: Session) -> None:
    world = build_world(session)
    issued = client.post("/api/auth/token", json={"username": world.insurance.username, "password": PASSWORD})
    assert issued.status_code == 200
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {issued.json()['access_token']}"})
    assert me.json()["role"] == "医保经办" and me.json()["region_code"] == "640181"
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer yl_forged"}).status_code == 401
    assert bearer(session, world.doctor)["Authorization"].startswith("Bearer yl_")
