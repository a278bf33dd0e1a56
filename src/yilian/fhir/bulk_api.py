"""FHIR Bulk Data Access (1.0/2.0) export: kick-off, status, download, cancel.

`GET /fhir/$export` (everything the account reads) and `GET /fhir/Patient/$export` (the patient
compartment) with `Prefer: respond-async` answer 202 and a Content-Location to poll: 202 with
X-Progress while the job runs, then 200 with the manifest; its files are downloaded with the same
token. `DELETE` on the status URL cancels the job and removes its files. A job is seen only by the
account that asked for it (another gets 404). This router is included before the FHIR router, whose
`/fhir/{type}/{id}` would otherwise take `/fhir/Patient/$export`.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.fhir import bulk
from yilian.fhir.api import _base, _check_scope, fhir_response
from yilian.fhir.rules import CST, FhirError, fhir_instant, issue, operation_outcome
from yilian.kit.db import local_now
from yilian.models import FhirExport
from yilian.web.deps import ApiActor, DbSession, committed_in_thread

router = APIRouter(prefix="/fhir", tags=["fhir"])
NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
# One export runs at a time in a server; more wait their turn (they are in-progress meanwhile).
_running = threading.BoundedSemaphore(1)


def _since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, "invalid", f"_since '{raw[:40]}' is not a FHIR instant", ["_since"]) from None
    return value.astimezone(CST).replace(tzinfo=None) if value.tzinfo else value


def _kick_off(session: Session, actor: Actor, request: Request, level: str) -> Response:
    if "respond-async" not in request.headers.get("prefer", ""):
        raise FhirError(400, "invalid", "$export needs the header Prefer: respond-async")
    params = request.query_params
    output_format = params.get("_outputFormat")
    if output_format and output_format not in NDJSON_FORMATS:
        raise FhirError(
            400, "not-supported", f"_outputFormat '{output_format[:40]}' is not served: ndjson only"
        )
    types = bulk.wanted_types(params.get("_type"), level)
    for resource_type in types:
        _check_scope(session, request, resource_type, "read")
    since = _since(params.get("_since"))
    job = bulk.new_job_id()
    session.add(
        FhirExport(
            job=job,
            user_id=actor.subject.user_id,
            level=level,
            types=",".join(types),
            since=since,
            request_url=str(request.url)[:1000],
            status="in-progress",
            progress="",
            output_json="[]",
            requested_at=actor.clock.now(),
            worker=bulk.WORKER,
            heartbeat_at=local_now(),
        )
    )
    # Who exported what: durable with the job itself.
    actor.record_change(
        session,
        action="export",
        entity="fhir:$export",
        entity_id=job,
        resident_id=None,
        detail=f"{level}: {','.join(types)}" + (f" since {since.isoformat()}" if since else ""),
    )
    session.flush()
    state = request.app.state
    folder = Path(state.settings.fhir_export_dir)

    def work() -> None:
        try:
            with _running:
                bulk.run_export(
                    sessions=state.db.session_factory,
                    read_sessions=state.db.read_session_factory,
                    actor=actor,
                    job=job,
                    types=types,
                    since=since,
                    patient_level=level == "patient",
                    folder=folder,
                )
        finally:
            bulk.LIVE.discard(job)

    # Started once the job's row is committed (the thread reads and updates it).
    request.state.fhir_export_start = threading.Thread(
        target=work, name=f"fhir-export-{job[:8]}", daemon=True
    )
    request.state.fhir_export_job = job
    return Response(
        status_code=202,
        headers={"Content-Location": f"{_base(request)}/$export-status/{job}"},
    )


async def _start_after(response: Response, request: Request) -> Response:
    thread = getattr(request.state, "fhir_export_start", None)
    if thread is not None and response.status_code == 202:
        bulk.LIVE.add(request.state.fhir_export_job)
        thread.start()
    return response


@router.get("/$export")
async def export_system(request: Request, actor: ApiActor, session: DbSession) -> Response:
    """Everything the account reads, as NDJSON files (FHIR Bulk Data kick-off)."""
    response = await committed_in_thread(session, _kick_off, session, actor, request, "system")
    return await _start_after(response, request)


@router.get("/Patient/$export")
async def export_patients(request: Request, actor: ApiActor, session: DbSession) -> Response:
    """The patient compartment of every resident the account reads."""
    response = await committed_in_thread(session, _kick_off, session, actor, request, "patient")
    return await _start_after(response, request)


def _job(session: Session, actor: Actor, job: str) -> FhirExport:
    found = session.scalar(
        select(FhirExport).where(FhirExport.job == job[:32], FhirExport.user_id == actor.subject.user_id)
    )
    if found is None:
        raise FhirError(404, "not-found", "no such export job")
    return found


def _status(session: Session, actor: Actor, request: Request, job: str) -> Response:
    row = _job(session, actor, job)
    if bulk.fail_if_gone(request.app.state.db.session_factory, row):
        # R4 Bulk Data: a failed job's status is a 5xx with an OperationOutcome.
        return fhir_response(operation_outcome([issue("error", "exception", bulk.INTERRUPTED)]), 500)
    if row.status == "in-progress":
        return Response(status_code=202, headers={"X-Progress": row.progress or "queued", "Retry-After": "2"})
    if row.status == "failed":
        # R4 Bulk Data: a failed job's status is a 5xx with an OperationOutcome.
        said = bulk.INTERRUPTED if row.error == bulk.INTERRUPTED else "the export failed"
        return fhir_response(operation_outcome([issue("error", "exception", said)]), 500)
    if row.status == "cancelled":
        raise FhirError(404, "not-found", "the export was cancelled")
    base = _base(request)
    manifest: dict[str, Any] = {
        "transactionTime": fhir_instant(row.requested_at),
        "request": row.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": one["type"],
                "url": f"{base}/$export-file/{row.job}/{one['file']}",
                "count": one["count"],
            }
            for one in json.loads(row.output_json)
        ],
        "error": [],
    }
    return Response(json.dumps(manifest, ensure_ascii=False), media_type="application/json")


@router.get("/$export-status/{job}")
async def export_status(job: str, request: Request, actor: ApiActor, session: DbSession) -> Response:
    return await committed_in_thread(session, _status, session, actor, request, job)


def _cancel(session: Session, actor: Actor, request: Request, job: str) -> Response:
    row = _job(session, actor, job)
    if row.status in ("in-progress", "completed"):
        row.status = "cancelled"
        bulk.CANCELS.event(row.job).set()
        bulk.remove_files(Path(request.app.state.settings.fhir_export_dir), row.job)
        actor.record_change(
            session, action="cancel", entity="fhir:$export", entity_id=row.job, resident_id=None, detail=None
        )
    return Response(status_code=202)


@router.delete("/$export-status/{job}")
async def export_cancel(job: str, request: Request, actor: ApiActor, session: DbSession) -> Response:
    return await committed_in_thread(session, _cancel, session, actor, request, job)


def _file(session: Session, actor: Actor, request: Request, job: str, name: str) -> Path:
    row = _job(session, actor, job)
    if row.status != "completed":
        raise FhirError(404, "not-found", "no such export file")
    # The path is made of what the job row holds, never of the request's text.
    stored = next((one["file"] for one in json.loads(row.output_json) if one["file"] == name), None)
    if stored is None:
        raise FhirError(404, "not-found", "no such export file")
    actor.record_change(
        session, action="download", entity="fhir:$export", entity_id=row.job, resident_id=None, detail=stored
    )
    return Path(request.app.state.settings.fhir_export_dir) / row.job / stored


@router.get("/$export-file/{job}/{name}")
async def export_file(job: str, name: str, request: Request, actor: ApiActor, session: DbSession) -> Response:
    path = await committed_in_thread(session, _file, session, actor, request, job, name)
    return FileResponse(path, media_type="application/fhir+ndjson")
