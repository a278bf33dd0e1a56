"""FHIR Bulk Data export ($export): the job that writes NDJSON files of what the account reads.

The job runs in a thread of the server (no child process: it only reads through SQLAlchemy, never
DuckDB, so decision 0018 does not apply). Every type is read in keyset pages (`id > last`, a
thousand rows) from the same readable-rows statements as a search, mapped by the same code
(`search.to_fhir`, display-only references outside the reader's county), written line by line and
dropped: memory stays flat whatever the county's size. The residents of each page are audited as
an export read before the page is written; the request and the finished job are audit records of
their own. Files live under `fhir_export_dir`/<job>/, names made here (`Patient-1.ndjson`).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from yilian.auth.context import Actor
from yilian.auth.scoping import resident_visibility
from yilian.fhir import mapping
from yilian.fhir.parameters import NATIVE
from yilian.fhir.rules import STORED, SUPPORTED, FhirError
from yilian.fhir.search import (
    _patient_scope,
    _registry_scope,
    display_only_outside,
    patients_of,
    stored_json,
    to_fhir,
)
from yilian.kit.db import local_now
from yilian.models import DiagnosticCentre, ExamOrder, FhirExport, FhirResource, Referral, Resident

log = logging.getLogger(__name__)
PAGE = 1000
# Computed on request, not rows: not exported.
NOT_EXPORTED = ("MeasureReport",)
EXPORTABLE = tuple(t for t in SUPPORTED if t not in NOT_EXPORTED)


def patient_compartment(resource_type: str) -> bool:
    spec = NATIVE.get(resource_type)
    return (
        resource_type in ("Patient", "ServiceRequest")
        or (spec is not None and spec.resident_column is not None)
        or resource_type in STORED
    )


def wanted_types(raw: str | None, level: str) -> list[str]:
    """`_type`, checked against what is exported; all of them (for the level) when absent."""
    allowed = [t for t in EXPORTABLE if level == "system" or patient_compartment(t)]
    if not raw:
        return allowed
    types = list(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
    for one in types:
        if one not in allowed:
            raise FhirError(
                400, "not-supported", f"_type '{one[:40]}' is not exported at this level", ["_type"]
            )
    return types


def new_job_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Cancels:
    """Jobs asked to stop (DELETE), for the running thread to see between pages."""

    events: dict[str, threading.Event]

    def event(self, job: str) -> threading.Event:
        return self.events.setdefault(job, threading.Event())


CANCELS = Cancels({})

# Which server process holds a job: host, pid and a token of this process's life (a restarted
# container has the same pid). Jobs whose thread is alive in this process are in LIVE.
WORKER = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
LIVE: set[str] = set()
# A job whose process has given no sign of life for this long is taken for gone (another host).
STALE_AFTER = timedelta(minutes=10)
INTERRUPTED = (
    "the export was interrupted: the server running it stopped before it finished; start a new export"
)


def worker_gone(job: str, worker: str | None, heartbeat_at: datetime | None, now: datetime) -> bool:
    """Whether the process that holds an in-progress job is gone (the job will never finish)."""
    if worker is None:  # a job from before workers were recorded
        return True
    if worker == WORKER:
        return job not in LIVE
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host == WORKER.partition(":")[0] and pid.isdigit():
        if int(pid) == os.getpid():  # this pid, another life: the server was restarted
            return True
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            pass
    return heartbeat_at is None or now - heartbeat_at > STALE_AFTER


def fail_if_gone(sessions: sessionmaker[Session], row: FhirExport) -> bool:
    """Whether an in-progress job's process is gone, the job now failed with what the client is told.

    Decided and written in a transaction of its own, not the status request's: the request's
    snapshot may predate the job's own "completed" (SQLite then refuses the write as a stale
    snapshot, and a job that has just finished would read as gone). Under the write lock (SQLite's
    BEGIN IMMEDIATE; on PostgreSQL the update's `status` check) the row is read afresh before this
    process's live jobs are looked at, and a worker finishing meanwhile wins. Heartbeats are the
    database's clock (`local_now`), as every server process shares it."""
    if row.status != "in-progress":
        return False
    with sessions.begin() as fresh:
        current = fresh.execute(
            select(FhirExport.status, FhirExport.worker, FhirExport.heartbeat_at).where(FhirExport.id == row.id)
        ).one()
        now = fresh.scalar(select(local_now()))
        if current.status != "in-progress" or now is None:
            return False
        if not worker_gone(row.job, current.worker, current.heartbeat_at, now):
            return False
        done = fresh.execute(
            update(FhirExport)
            .where(FhirExport.id == row.id, FhirExport.status == "in-progress")
            .values(status="failed", error=INTERRUPTED, finished_at=now)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _pages_native(
    session: Session, actor: Actor, resource_type: str, since: datetime | None, patient_level: bool
) -> Iterator[list[dict[str, Any]]]:
    spec = NATIVE[resource_type]
    statement = spec.base(select(spec.model))
    if since is not None:
        statement = statement.where(spec.model.row_updated_at > since)
    if spec.resident_column is not None:
        statement = _patient_scope(actor, statement, spec.resident_column)
    elif patient_level:
        return
    else:
        statement = _registry_scope(actor, spec, statement)
    last = 0
    while True:
        rows = list(
            session.scalars(statement.where(spec.model.id > last).order_by(spec.model.id).limit(PAGE))
        )
        if not rows:
            return
        last = rows[-1].id
        yield to_fhir(session, resource_type, rows)
        session.expunge_all()


def _pages_service_requests(
    session: Session, actor: Actor, since: datetime | None
) -> Iterator[list[dict[str, Any]]]:
    from yilian.fhir.search import with_meta

    for model in (Referral, ExamOrder):
        statement = _patient_scope(actor, select(model), model.resident_id)
        if since is not None:
            statement = statement.where(model.row_updated_at > since)
        last = 0
        while True:
            rows = list(session.scalars(statement.where(model.id > last).order_by(model.id).limit(PAGE)))
            if not rows:
                break
            last = rows[-1].id
            if model is Referral:
                yield [with_meta(mapping.service_request_of_referral(r), r) for r in rows]
            else:
                hosts = dict(
                    session.execute(
                        select(DiagnosticCentre.id, DiagnosticCentre.host_institution_id).where(
                            DiagnosticCentre.id.in_({o.centre_id for o in rows})
                        )
                    ).all()
                )
                yield [with_meta(mapping.service_request_of_order(o, hosts[o.centre_id]), o) for o in rows]
            session.expunge_all()


def _pages_stored(
    session: Session, actor: Actor, resource_type: str, since: datetime | None, patient_level: bool
) -> Iterator[list[dict[str, Any]]]:
    statement = (
        select(FhirResource)
        .where(FhirResource.resource_type == resource_type)
        .outerjoin(Resident, Resident.id == FhirResource.resident_id)
    )
    if patient_level:
        statement = statement.where(FhirResource.resident_id.is_not(None), resident_visibility(actor.subject))
    else:
        statement = statement.where(
            or_(FhirResource.resident_id.is_(None), resident_visibility(actor.subject))
        )
    if since is not None:
        statement = statement.where(FhirResource.row_updated_at > since)
    last = 0
    while True:
        rows = list(
            session.scalars(statement.where(FhirResource.id > last).order_by(FhirResource.id).limit(PAGE))
        )
        if not rows:
            return
        last = rows[-1].id
        yield [stored_json(r) for r in rows]
        session.expunge_all()


def pages(
    session: Session, actor: Actor, resource_type: str, since: datetime | None, patient_level: bool
) -> Iterator[list[dict[str, Any]]]:
    """Every resource of a type the actor reads, a page at a time (as a search would serve them)."""
    if resource_type == "ServiceRequest":
        for page in _pages_service_requests(session, actor, since):
            yield display_only_outside(session, actor, page)
    elif resource_type in NATIVE:
        for page in _pages_native(session, actor, resource_type, since, patient_level):
            yield display_only_outside(session, actor, page)
    if resource_type in STORED:
        for page in _pages_stored(session, actor, resource_type, since, patient_level):
            yield display_only_outside(session, actor, page)


def run_export(
    *,
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    actor: Actor,
    job: str,
    types: list[str],
    since: datetime | None,
    patient_level: bool,
    folder: Path,
) -> None:
    """The job: one file per type, progress after each page, cancelled between pages."""
    cancel = CANCELS.event(job)
    target = folder / job
    output: list[dict[str, Any]] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for done, resource_type in enumerate(types):
            name = f"{resource_type}-1.ndjson"
            count = 0
            with (target / name).open("w", encoding="utf-8") as out, read_sessions() as session:
                for page in pages(session, actor, resource_type, since, patient_level):
                    if cancel.is_set():
                        return
                    session.rollback()  # a fresh snapshot for the next page; nothing held open
                    count += len(page)
                    # The page's residents are audited as read (one append for the page) with the
                    # job's progress, committed before their data is on disk.
                    with sessions.begin() as write:
                        actor.record_reads_in(
                            write,
                            entity=f"fhir:{resource_type}"[:32],
                            resident_ids=patients_of(page),
                            action="export",
                        )
                        _progress(
                            write, actor, job, f"{done}/{len(types)} types done; {resource_type}: {count}"
                        )
                    for resource in page:
                        out.write(
                            json.dumps(mapping_pruned(resource), ensure_ascii=False, separators=(",", ":"))
                        )
                        out.write("\n")
            if count:
                output.append({"type": resource_type, "file": name, "count": count})
            else:
                (target / name).unlink(missing_ok=True)
        with sessions.begin() as session:
            session.execute(
                update(FhirExport)
                .where(FhirExport.job == job, FhirExport.status == "in-progress")
                .values(
                    status="completed",
                    progress=f"{len(types)}/{len(types)}",
                    output_json=json.dumps(output),
                    finished_at=actor.clock.now(),
                )
            )
            actor.record_change(
                session,
                action="export",
                entity="fhir:$export",
                entity_id=job,
                resident_id=None,
                detail="completed: " + ", ".join(f"{o['type']} ×{o['count']}" for o in output),
            )
    except Exception as error:  # the job fails, the server goes on
        log.exception("FHIR export %s failed", job)
        with sessions.begin() as session:
            session.execute(
                update(FhirExport)
                .where(FhirExport.job == job)
                .values(status="failed", error=str(error)[:2000], finished_at=actor.clock.now())
            )
    finally:
        CANCELS.events.pop(job, None)
        if cancel.is_set():
            shutil.rmtree(target, ignore_errors=True)


def mapping_pruned(resource: dict[str, Any]) -> Any:
    from yilian.fhir.rules import prune

    return prune(resource)


def _progress(session: Session, actor: Actor, job: str, text: str) -> None:
    """The job's progress, and the heartbeat of every job this process holds (the running one and
    those waiting their turn): a status read elsewhere tells from it that the worker lives."""
    session.execute(
        update(FhirExport)
        .where(FhirExport.job == job, FhirExport.status == "in-progress")
        .values(progress=text[:200])
    )
    session.execute(
        update(FhirExport)
        .where(FhirExport.worker == WORKER, FhirExport.status == "in-progress")
        .values(heartbeat_at=local_now())
    )


def remove_files(folder: Path, job: str) -> None:
    shutil.rmtree(folder / job, ignore_errors=True)
