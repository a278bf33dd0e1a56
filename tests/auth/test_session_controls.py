"""Accounts and sessions (等保2.0 controls): no start with the default secret key outside the demo,
an absolute session lifetime, failed logins that cost the same for known and unknown names, a
throttle per address that cannot be turned into locking someone else out, and the headers pages
and personal data are served with."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import PASSWORD, bearer, login
from tests.factories.world import build_world
from yilian.app import create_app
from yilian.auth import passwords
from yilian.config import PROJECT_ROOT, Settings
from yilian.kit.audit import AuditWriter
from yilian.kit.clock import FixedClock
from yilian.kit.db import Database


def token_login(client: TestClient, username: str, password: str) -> int:
    return client.post("/api/auth/token", json={"username": username, "password": password}).status_code


def from_address(client: TestClient, address: str) -> TestClient:
    """Another client of the same app and database, connecting from `address`."""
    return TestClient(client.app, client=(address, 50000))


# -- the secret key ---------------------------------------------------------------------------


def test_refuses_to_start_with_the_default_secret_key_outside_the_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from yilian.config import DEFAULT_SECRET_KEY, UnsafeSettings

    monkeypatch.delenv("YILIAN_DEMO", raising=False)
    monkeypatch.delenv("YILIAN_SECRET_KEY", raising=False)
    unsafe = Settings(database_url="sqlite://")
    assert unsafe.secret_key == DEFAULT_SECRET_KEY
    with pytest.raises(UnsafeSettings) as refused:
        create_app(unsafe, database=Database.__new__(Database), audit=AuditWriter())
    message = str(refused.value)
    assert "YILIAN_SECRET_KEY" in message and "密钥" in message and "secret key" in message

    # A key of the operator's own starts (with the audit chain's own key, decision 0020); so does the
    # demo, which scripts/run declares.
    chain_key = tmp_path / "audit.key"
    chain_key.write_text(secrets.token_hex(32))
    create_app(
        Settings(
            database_url="sqlite://",
            secret_key="a-key-of-our-own",
            audit_key_file=str(chain_key),
        ),
        database=Database.__new__(Database),
        audit=AuditWriter(),
    )
    run = (PROJECT_ROOT / "scripts" / "run").read_text()
    assert re.search(r"^export YILIAN_DEMO=\$\{YILIAN_DEMO:-1\}$", run, re.M), (
        "scripts/run must declare the demo"
    )
    monkeypatch.setenv("YILIAN_DEMO", "1")
    create_app(
        Settings(database_url="sqlite://"),
        database=Database.__new__(Database),
        audit=AuditWriter(),
    )


# -- the session's absolute lifetime ----------------------------------------------------------------


def test_a_busy_session_still_ends_after_its_absolute_lifetime(
    client: TestClient, session: Session, clock: FixedClock, settings: Settings
) -> None:
    world = build_world(session)
    assert login(client, world.commission.username, PASSWORD) == 200
    step = settings.session_idle_minutes - 5
    used = 0
    while used + step < getattr(settings, "session_absolute_hours", 8) * 60:
        clock.advance(minutes=step)
        used += step
        assert client.get("/api/auth/session").status_code == 200, f"refused after {used} min"
    clock.advance(minutes=step)  # active all along, never idle: past the absolute lifetime
    assert client.get("/api/auth/session").status_code == 401
    assert client.get("/api/auth/me").status_code == 401


# -- failed logins cost the same whether the name exists or not -----------------------------------


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def hash(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append("hash")
        return super().hash(*args, **kwargs)

    def verify(self, *args: Any, **kwargs: Any) -> bool:
        self.calls.append("verify")
        return super().verify(*args, **kwargs)


def test_unknown_and_known_names_cost_one_argon2_verify_each(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(session)
    world.insurance.is_active = False
    session.flush()
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "_verifier", counting)
    spent = {}
    for case, name in (
        ("known name, wrong password", world.doctor.username),
        ("unknown name", "no-such-account"),
        ("deactivated account", world.insurance.username),
    ):
        counting.calls.clear()
        assert token_login(client, name, "Wrong-Pass-1") == 401
        spent[case] = list(counting.calls)
    assert spent == {case: ["verify"] for case in spent}
    # The stand-in hash an unknown name is checked against costs what an account's does with the
    # same settings (the tests' are cheap; production's are checked in tests/auth/test_passwords.py).
    assert extract_parameters(passwords.dummy_hash(settings)) == extract_parameters(
        passwords.hash_password("x", settings=settings)
    )


# -- the throttle is per address ----------------------------------------------------------------------


def test_failures_from_one_address_lock_neither_the_account_elsewhere_nor_other_addresses(
    client: TestClient, session: Session, clock: FixedClock, settings: Settings
) -> None:
    world = build_world(session)
    attacker = from_address(client, "203.0.113.9")
    owner = from_address(client, "10.20.0.7")
    colleague = from_address(client, "10.20.0.8")
    name = world.doctor.username

    for _ in range(settings.max_failed_logins - 1):
        assert token_login(attacker, name, "Wrong-Pass-1") == 401
    assert token_login(attacker, name, "Wrong-Pass-1") == 423  # locked — from this address
    assert token_login(attacker, name, PASSWORD) == 423
    assert token_login(owner, name, PASSWORD) == 200  # the owner, elsewhere, is not locked out

    # The attacker moves on to other names: the address itself is throttled, whatever the name.
    attempts = settings.max_failed_logins
    while attempts < settings.max_failed_logins_per_address:
        assert token_login(attacker, f"guess{attempts}", "Wrong-Pass-1") in (401, 423, 429)
        attempts += 1
    throttled = attacker.post(
        "/api/auth/token", json={"username": world.commission.username, "password": PASSWORD}
    )
    assert throttled.status_code == 429
    assert throttled.json()["error"]["message_zh"] and "address" in throttled.json()["error"]["message_en"]
    assert login(attacker, world.commission.username, PASSWORD) == 429  # the login page too
    assert token_login(colleague, world.commission.username, PASSWORD) == 200

    clock.advance(minutes=settings.lockout_minutes + 1)
    assert token_login(attacker, world.commission.username, PASSWORD) == 200
    assert token_login(attacker, name, PASSWORD) == 200


# -- headers ------------------------------------------------------------------------------------------


def test_pages_carry_a_content_security_policy_with_a_nonce_for_their_own_scripts(
    client: TestClient
) -> None:
    error_page = client.get("/no-such-page", headers={"Accept": "text/html"})
    policy = error_page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    # The front end's shells (staff /app/, residents /m/): scripts from the platform only, none inline.
    for shell in ("/app/", "/m/"):
        first = client.get(shell)
        policy = first.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", first.text) == []  # no inline script to allow
        assert client.get(shell).headers["content-security-policy"] != policy  # a fresh nonce each time
    assert "content-security-policy" not in client.get("/api/auth/me").headers  # JSON is no page


def test_hsts_when_cookies_are_secure(client: TestClient, settings: Settings) -> None:
    assert "strict-transport-security" not in client.get("/portal/login").headers
    settings.secure_cookies = True
    hsts = client.get("/portal/login").headers["strict-transport-security"]
    assert re.fullmatch(r"max-age=\d+; includeSubDomains", hsts) and int(hsts[8:].split(";")[0]) >= 31536000


def test_no_store_on_every_response_but_static_assets(client: TestClient, session: Session) -> None:
    world = build_world(session)
    staff = bearer(session, world.consortium_admin)
    paths = {
        "/login": {},
        "/portal/login": {},
        "/fhir/metadata": {},
        f"/fhir/Patient/{world.resident_a.id}": staff,
        "/api/auth/me": staff,
        "/no-such-page": {},
    }
    for path, headers in paths.items():
        response = client.get(path, headers=headers, follow_redirects=False)
        assert response.headers.get("cache-control") == "no-store", (path, response.status_code)
    assert login(client, world.commission.username, PASSWORD) == 200
    for page in ("/", f"/residents/{world.resident_a.id}"):
        response = client.get(page, follow_redirects=False)
        assert response.headers.get("cache-control") == "no-store", (page, response.status_code)
    static = client.get("/static/vendor/echarts.min.js")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


def test_login_gate_is_a_sliding_window_per_address_and_per_name() -> None:
    from datetime import datetime, timedelta

    from yilian.auth.rules import ACCOUNT, ADDRESS, LoginGate, login_gate

    now = datetime(2026, 11, 24, 9, 30)
    window = timedelta(minutes=30)

    def gate(failures: list[tuple[int, bool]]) -> LoginGate | None:
        """`failures`: (minutes ago, for the name now tried), newest first."""
        return login_gate(
            [(now - timedelta(minutes=m), same) for m, same in failures],
            now=now,
            window=window,
            per_account=3,
            per_address=5,
        )

    assert gate([]) is None
    assert gate([(1, True), (2, True)]) is None
    # The third failure for the name locks it until the oldest of the three leaves the window.
    assert gate([(1, True), (2, True), (20, True)]) == LoginGate(ACCOUNT, now + timedelta(minutes=10))
    assert gate([(1, True), (2, True), (31, True)]) is None  # one has left the window
    # Other names' failures do not lock this one, but count towards the address.
    assert gate([(1, False), (2, False), (3, True), (4, True)]) is None
    assert gate([(1, False), (2, False), (3, False), (4, True), (25, False)]) == LoginGate(
        ADDRESS, now + timedelta(minutes=5)
    )
