"""Residents administration behind the screens: merge candidates and the export's limit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.residents import create_resident
from tests.factories.world import build_world
from yilian.residents import spreadsheets


def test_merge_candidates_are_records_sharing_a_number_then_merged_away(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    twin = create_resident(session, grid=world.grid_a, name=world.resident_a.name)
    twin.id_number = world.resident_a.id_number  # registered twice: the second registrar could not see the first
    create_resident(session, grid=world.grid_a)  # an ordinary record is no candidate
    session.flush()
    headers = bearer(session, world.consortium_admin)
    page = client.get("/api/residents/merge-candidates", headers=headers).json()
    assert page["total"] == 1
    (group,) = page["items"]
    assert sorted(r["id"] for r in group["residents"]) == sorted([world.resident_a.id, twin.id])
    assert all("*" in r["id_number"] for r in group["residents"])  # masked as in every list
    merged = client.post(
        "/api/residents/merge",
        json={"survivor_id": world.resident_a.id, "merged_id": twin.id, "reason": "重复建档"},
        headers=headers,
    )
    assert merged.status_code == 200, merged.text
    assert client.get("/api/residents/merge-candidates", headers=headers).json()["total"] == 0


def test_only_mergers_see_merge_candidates(client: TestClient, session: Session) -> None:
    world = build_world(session)
    refused = client.get("/api/residents/merge-candidates", headers=bearer(session, world.family_doctor_a))
    assert refused.status_code == 403 and refused.json()["error"]["message_zh"]


def test_export_over_the_limit_is_refused_naming_it_not_cut(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export longer than the limit answers 422 with the count and the limit, never a short file."""
    world = build_world(session)
    for _ in range(3):
        create_resident(session, grid=world.grid_a)
    monkeypatch.setattr(spreadsheets, "EXPORT_LIMIT", 2)
    response = client.get("/api/residents/export", headers=bearer(session, world.consortium_admin))
    assert response.status_code == 422
    error = response.json()["error"]
    assert "上限2人" in error["message_zh"] and "limit of 2" in error["message_en"]
