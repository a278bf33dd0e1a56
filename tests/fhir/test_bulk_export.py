"""FHIR Bulk Data export (issue 24): kick-off, status polling, NDJSON download and cancel, on a
served county; `_type` and `_since`; scoped like every read (a county doctor exports only the
residents they read); audited (the request, the residents exported, the download)."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.factories.fhir import token
from tests.factories.world import build_world
from tests.fhir.county import County
from yilian.fhir import bulk
from yilian.kit.db import Database, local_now, make_engine
from yilian.kit.migrate import upgrade
from yilian.models import AuditLog, FhirExport, Resident

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def run(county: County, headers: dict[str, str], url: str) -> dict[str, Any]:
    """Kick off, poll until done, return the manifest."""
    kicked = county.client.get(url, headers={**headers, **ASYNC})
    assert kicked.status_code == 202, kicked.text
    status_url = kicked.headers["content-location"]
    assert "/fhir/$export-status/" in status_url
    for _ in range(600):
        polled = county.client.get(status_url, headers=headers)
        if polled.status_code == 200:
            manifest: dict[str, Any] = polled.json()
            manifest["status_url"] = status_url
            return manifest
        assert polled.status_code == 202, polled.text
        assert "x-progress" in polled.headers
        time.sleep(0.1)
    raise AssertionError("the export did not finish in 60 s")


def lines(county: County, headers: dict[str, str], url: str) -> list[dict[str, Any]]:
    response = county.client.get(url, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "application/fhir+ndjson"
    )
    return [json.loads(line) for line in response.text.splitlines()]


def total(county: County, headers: dict[str, str], resource_type: str) -> int:
    return int(county.client.get(f"/fhir/{resource_type}?_count=0", headers=headers).json()["total"])


def test_export_is_scoped_complete_and_audited(county: County) -> None:
    kinds = ("Patient", "Encounter", "Observation")
    for reader in ("commission", "doctor"):
        headers = getattr(county, reader)
        manifest = run(county, headers, "/fhir/$export?_type=" + ",".join(kinds))
        assert manifest["requiresAccessToken"] is True and manifest["error"] == []
        by_type = {o["type"]: o for o in manifest["output"]}
        assert set(by_type) <= set(kinds)
        for kind in kinds:
            expected = total(county, headers, kind)
            got = lines(county, headers, by_type[kind]["url"]) if kind in by_type else []
            assert len(got) == expected == (by_type[kind]["count"] if kind in by_type else 0), (reader, kind)
            assert len({r["id"] for r in got}) == len(got)
            assert all(r["resourceType"] == kind and r["meta"]["lastUpdated"] for r in got)
        # another account cannot see the job or its files
        other = county.doctor if reader == "commission" else county.commission
        assert county.client.get(manifest["status_url"], headers=other).status_code == 404
        first = manifest["output"][0]["url"]
        assert county.client.get(first, headers=other).status_code == 404
    commission_patients = total(county, county.commission, "Patient")
    assert total(county, county.doctor, "Patient") < commission_patients
    engine = make_engine(county.url)
    with Session(engine) as session:
        asked = session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity == "fhir:$export", AuditLog.action.in_(("export", "download")))
        )
        exported = session.scalar(
            select(func.count(func.distinct(AuditLog.resident_id))).where(
                AuditLog.action == "export", AuditLog.entity == "fhir:Patient"
            )
        )
    engine.dispose()
    assert (asked or 0) >= 4 and exported == commission_patients


def test_since_and_type_and_patient_level(county: County) -> None:
    engine = make_engine(county.url)
    with Session(engine) as session, session.begin():
        before = session.scalar(select(local_now()))
        assert before is not None
        changed = session.scalar(select(Resident.id).order_by(Resident.id.desc()).limit(1))
        session.execute(update(Resident).where(Resident.id == changed).values(address="导出测试"))
    engine.dispose()
    since = (before - timedelta(milliseconds=1)).isoformat() + "+08:00"
    manifest = run(
        county, county.commission, f"/fhir/Patient/$export?_type=Patient&_since={since.replace('+', '%2B')}"
    )
    (only,) = manifest["output"]
    assert [r["id"] for r in lines(county, county.commission, only["url"])] == [str(changed)]
    bad = county.client.get("/fhir/$export?_type=MeasureReport", headers={**county.commission, **ASYNC})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    sync = county.client.get("/fhir/$export", headers=county.commission)
    assert sync.status_code == 400


def test_cancel_removes_the_job(county: County) -> None:
    kicked = county.client.get("/fhir/$export?_type=Observation", headers={**county.commission, **ASYNC})
    status_url = kicked.headers["content-location"]
    assert county.client.delete(status_url, headers=county.commission).status_code == 202
    assert county.client.get(status_url, headers=county.commission).status_code == 404
    engine = make_engine(county.url)
    with Session(engine) as session:
        job = status_url.rpartition("/")[2]
        assert session.scalar(select(FhirExport.status).where(FhirExport.job == job)) == "cancelled"
    engine.dispose()


def test_a_job_cut_off_by_a_server_stop_fails_on_its_status(client: TestClient, session: Session) -> None:
    """A job running when the server stopped stayed in progress for ever: its client polled 202 with
    no end. Its status now says it failed (R4 Bulk Data: 500 with an OperationOutcome) once the
    process that held it is gone; a job whose process lives is still in progress."""
    world = build_world(session)
    headers = token(session, world.commission)
    host = socket.gethostname()
    now = session.scalar(select(local_now()))
    assert now is not None and world.commission.id is not None

    def job(name: str, worker: str | None, heartbeat: datetime | None) -> str:
        session.add(
            FhirExport(
                job=name,
                user_id=world.commission.id,
                level="system",
                types="Patient",
                request_url="http://test/fhir/$export",
                status="in-progress",
                progress="0/1 types done; Patient: 1000",
                output_json="[]",
                requested_at=now,
                worker=worker,
                heartbeat_at=heartbeat,
            )
        )
        session.flush()
        return f"/fhir/$export-status/{name}"

    cut_off = [
        job("a" * 32, f"{host}:{os.getpid()}:00000000", now),  # this pid, an earlier life: restarted
        job("b" * 32, bulk.WORKER, now),  # this process, but no thread runs it
        job("c" * 32, "elsewhere:1234:abcd", now - timedelta(minutes=30)),  # silent for half an hour
        job("d" * 32, None, None),  # from before workers were recorded
    ]
    for url in cut_off:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 500, (url, answer.status_code, answer.text)
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert "interrupted" in outcome["issue"][0]["diagnostics"]
    alive = job("e" * 32, "elsewhere:1234:abcd", now)  # another host, heard from just now
    assert client.get(alive, headers=headers).status_code == 202
    rows = session.scalars(select(FhirExport.status).where(FhirExport.job.in_(["a" * 32, "e" * 32])))
    assert sorted(rows) == ["failed", "in-progress"]


def test_a_status_read_whose_snapshot_predates_the_jobs_end_does_not_fail_it(fresh_database_url: str) -> None:
    """CI, 2026-12-07: a status poll read its job in progress, the export's thread then committed
    "completed" and left, and the poll took the job for cut off; writing "failed" from its read-only
    snapshot was refused on SQLite ("database is locked", a 500). The verdict is now reached and
    written in a transaction of its own, where the job's end is seen and wins."""
    upgrade(fresh_database_url)
    database = Database(fresh_database_url, pool_size=2, max_overflow=0)
    try:
        with database.session_factory.begin() as session:
            world = build_world(session)
            session.add(
                FhirExport(
                    job="f" * 32,
                    user_id=world.commission.id,
                    level="system",
                    types="Patient",
                    request_url="http://test/fhir/$export",
                    status="in-progress",
                    progress="0/1",
                    output_json="[]",
                    requested_at=datetime(2026, 11, 24, 9),
                    worker=bulk.WORKER,  # this process; no thread holds the job any more
                    heartbeat_at=datetime(2026, 11, 24, 9),
                )
            )
        with database.read_session_factory() as poll:
            row = poll.scalar(select(FhirExport).where(FhirExport.job == "f" * 32))
            assert row is not None and row.status == "in-progress"  # the poll's snapshot
            with database.session_factory.begin() as worker:  # the job ends after the poll's read
                worker.execute(
                    update(FhirExport).where(FhirExport.job == "f" * 32).values(status="completed")
                )
            assert bulk.fail_if_gone(database.session_factory, row) is False
        with database.session_factory() as session:
            assert session.scalar(select(FhirExport.status).where(FhirExport.job == "f" * 32)) == "completed"
    finally:
        database.engine.dispose()
