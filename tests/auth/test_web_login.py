"""Login (the front end's JSON session), lockout after five failures, idle expiry, CSRF, bearer tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import PASSWORD, bearer, login
from tests.factories.world import build_world
from yilian.auth.passwords import verify_password
from yilian.kit.clock import FixedClock
from yilian.models import LoginFailure


def test_password_is_stored_as_argon2id(session: Session) -> None:
    world = build_world(session)
    assert world.doctor.password_hash.startswith("$argon2id$")
    assert verify_password(world.doctor.password_hash, PASSWORD)


def test_login_then_session_then_logout(client: TestClient, session: Session) -> None:
    world = build_world(session)
    # The old pages lead to the front end, whose sign-in is the JSON session.
    assert client.get("/", follow_redirects=False).headers["location"] == "/app/"
    assert client.get("/login", follow_redirects=False).headers["location"] == "/app/login"
    assert client.get("/api/auth/session").status_code == 401
    assert login(client, world.commission.username, PASSWORD) == 200
    current = client.get("/api/auth/session")
    assert current.status_code == 200 and current.json()["role"] == "卫健局管理员"
    csrf = current.json()["csrf_token"]
    assert client.delete("/api/auth/session").status_code == 403  # a write without the CSRF header
    assert client.delete("/api/auth/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/auth/session").status_code == 401


def test_five_failures_lock_the_account(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    for _ in range(4):
        assert login(client, world.doctor.username, "Wrong-Pass-1") == 401
    assert login(client, world.doctor.username, "Wrong-Pass-1") == 423
    assert login(client, world.doctor.username, PASSWORD) == 423  # even the right password, while locked
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 5
    clock.advance(minutes=31)
    assert login(client, world.doctor.username, PASSWORD) == 200


def test_idle_session_expires(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    login(client, world.commission.username, PASSWORD)
    clock.advance(minutes=29)
    assert client.get("/api/residents").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/api/residents").status_code == 401


def test_a_form_cannot_sign_a_browser_in(client: TestClient, session: Session) -> None:
    """A cross-site form can post neither to the JSON sign-in nor to the old login page."""
    world = build_world(session)
    form = {"username": world.doctor.username, "password": PASSWORD}
    assert client.post("/api/auth/session", data=form).status_code == 422
    assert client.post("/login", data={**form, "csrf": "forged"}).status_code == 405
    assert client.get("/api/auth/session").status_code == 401


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
