"""Requests in tests run through the production session dependency (the old harness shared the
test's session and committed each request as a savepoint, which hid after-commit bugs), and the
request's commit happens before its response is sent."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from yilian.kit.commit import on_commit, with_commit
from yilian.web.deps import DbSession


def test_a_request_has_its_own_session_committed_and_closed(client: TestClient, session: Session) -> None:
    seen: dict[str, Any] = {}

    @client.app.get("/_probe/session")  # type: ignore[attr-defined]
    def probe(db: DbSession) -> dict[str, bool]:
        seen["session"] = db
        on_commit(db, lambda: seen.setdefault("after_commit", True))
        return {}

    assert client.get("/_probe/session").status_code == 200
    assert not client.app.dependency_overrides  # type: ignore[attr-defined]
    assert seen["session"] is not session
    assert seen["after_commit"]  # the request's own outermost commit happened
    assert not seen["session"].in_transaction()


def test_the_commit_happens_before_the_response_is_sent(client: TestClient) -> None:
    """FastAPI's default dependency scope ran the session's exit after the response had been sent:
    a request whose commit failed had already answered 200."""

    def refuse(_connection: Connection, _items: list[Any]) -> None:
        raise RuntimeError("the commit fails")

    @client.app.get("/_probe/commit")  # type: ignore[attr-defined]
    def probe(db: DbSession) -> dict[str, bool]:
        with_commit(db, refuse, "item")
        return {"saved": True}

    with TestClient(client.app, raise_server_exceptions=False) as plain:  # type: ignore[arg-type]
        answered = plain.get("/_probe/commit")
    assert answered.status_code == 500 and "saved" not in answered.text
