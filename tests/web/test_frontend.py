"""The front end's contract with the API: its types are generated from today's OpenAPI document, the
session endpoints it signs in with, and how the server hands out the built files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.auth import PASSWORD
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.cli import app
from yilian.config import PROJECT_ROOT

FRONTEND = PROJECT_ROOT / "frontend"


def test_the_front_ends_api_types_are_generated_from_todays_openapi(tmp_path: Path) -> None:
    """A renamed field must break the front end's build, so its types must follow the API: regenerate
    and compare with the committed file (fix: `yilian openapi -o var/openapi.json && npm run types`)."""
    generator = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
    if not generator.exists():
        pytest.fail("frontend/node_modules is missing: scripts/setup installs it (npm ci)")
    document = tmp_path / "openapi.json"
    dumped = CliRunner().invoke(app, ["openapi", "-o", str(document)])
    assert dumped.exit_code == 0, dumped.output
    fresh = tmp_path / "schema.d.ts"
    subprocess.run([str(generator), str(document), "-o", str(fresh)], check=True, timeout=120, capture_output=True)
    committed = (FRONTEND / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    assert fresh.read_text(encoding="utf-8") == committed, (
        "frontend/src/api/schema.d.ts is out of date: run `yilian openapi -o var/openapi.json` "
        "then `npm run types` in frontend/"
    )


def test_the_front_end_signs_in_with_a_server_side_session(client: TestClient, session: Session) -> None:
    user = build_world(session).family_doctor_a
    assert client.get("/api/auth/session").status_code == 401
    form = client.post("/api/auth/session", data={"username": user.username, "password": PASSWORD})
    assert form.status_code == 422  # a cross-site form cannot sign a browser in: JSON only
    wrong = client.post("/api/auth/session", json={"username": user.username, "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["message_zh"]
    opened = client.post("/api/auth/session", json={"username": user.username, "password": PASSWORD})
    assert opened.status_code == 200, opened.text
    account = opened.json()
    assert (account["role"], account["username"]) == (roles.FAMILY_DOCTOR, user.username)
    assert "httponly" in opened.headers["set-cookie"].lower()
    assert client.get("/api/auth/session").json()["csrf_token"] == account["csrf_token"]
    assert client.delete("/api/auth/session").status_code == 403  # writes carry the CSRF header
    closed = client.delete("/api/auth/session", headers={"X-CSRF-Token": account["csrf_token"]})
    assert closed.status_code == 204
    client.cookies.clear()
    assert client.get("/api/auth/session").status_code == 401


def test_the_server_serves_the_built_screens_and_nothing_else_from_disk(client: TestClient) -> None:
    if not (FRONTEND / "dist" / "index.html").is_file():
        pytest.fail("frontend/dist is missing: scripts/setup builds it")
    screen = client.get("/app/residents")
    assert screen.status_code == 200 and '<div id="app">' in screen.text
    assert screen.headers["cache-control"] == "no-cache"
    asset = next((FRONTEND / "dist" / "assets").glob("*.js")).name
    served = client.get(f"/app/assets/{asset}")
    assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
    escape = client.get("/app/assets/..%2F..%2Fpyproject.toml")
    assert escape.status_code == 404 and "[project]" not in escape.text
    assert client.get("/app/assets/nothing.js").status_code == 404
    # The residents' phone pages: their own entry of the same build, under /m/.
    phone = client.get("/m/bookings")
    assert phone.status_code == 200 and "/src/portal/" not in phone.text and "portal-" in phone.text
    assert phone.headers["cache-control"] == "no-cache"
    assert client.get("/m", follow_redirects=False).headers["location"] == "/m/"
