"""The FHIR R4 endpoint under /fhir: CapabilityStatement, read, vread, search, create, update,
transaction.

Requests and responses are `application/fhir+json`; errors are OperationOutcomes. Access is the
platform's: the bearer token's account decides which rows are visible, the token's SMART-style
scopes which types may be read or written, and every resident returned or written is audited.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.fhir import ingest, measures, parameters, search, updates
from yilian.fhir.rules import (
    FHIR_JSON,
    JSON_FORMATS,
    PROJECTED,
    STORED,
    SUPPORTED,
    FhirError,
    accepts_json,
    etag,
    issue,
    operation_outcome,
    prune,
    scope_allows,
    search_param_type,
)
from yilian.fhir.validate import validate
from yilian.kit.tokens import digest
from yilian.models import ApiToken
from yilian.web.deps import ApiActor, DbSession, committed_in_thread

router = APIRouter(prefix="/fhir", tags=["fhir"])
SCOPE_CACHE_SECONDS = 10.0
_scopes: dict[str, tuple[float, str]] = {}


def fhir_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Every FHIR answer goes out here: without the empty arrays, objects and strings that FHIR
    JSON forbids (a mapping may leave `specialty: []`, a stored import `reasonCode: []`)."""
    return Response(
        json.dumps(prune(body), ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def fhir_error(error: FhirError) -> Response:
    """An OperationOutcome; a 401 says how to authenticate, a 403's issues are `forbidden`."""
    issues = error.issues
    headers = None
    if error.status == 401:
        issues = [{**one, "code": "login"} for one in issues]
        headers = {"WWW-Authenticate": 'Bearer realm="yilian-fhir"'}
    elif error.status == 403:
        issues = [{**one, "code": "forbidden"} for one in issues]
    return fhir_response(operation_outcome(issues), error.status, headers)


def version_headers(resource: dict[str, Any]) -> dict[str, str]:
    """ETag (weak: the JSON is not byte-stable across releases) and Last-Modified of a read."""
    meta = resource.get("meta") or {}
    headers = {"ETag": etag(meta.get("versionId", "1"))}
    if meta.get("lastUpdated"):
        changed = datetime.fromisoformat(meta["lastUpdated"])
        headers["Last-Modified"] = format_datetime(changed.astimezone(UTC), usegmt=True)
    return headers


def negotiate(request: Request) -> None:
    """JSON is the only format served: `_format` or an Accept asking for anything else is a 406
    (not a 200 in a format the client did not ask for)."""
    wanted = request.query_params.get("_format")
    if wanted is not None and wanted not in JSON_FORMATS:
        raise FhirError(406, "not-supported", f"_format '{wanted}' is not served: only JSON")
    accept = request.headers.get("accept", "")
    if accept and not accepts_json(accept):
        raise FhirError(406, "not-supported", f"Accept '{accept}' is not served: only application/fhir+json")


def check_content_type(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/fhir+json", "application/json", "application/json+fhir"):
        raise FhirError(
            415,
            "not-supported",
            f"Content-Type '{kind or '(none)'}' is not accepted: send application/fhir+json",
        )


def _token_scopes(session: Session, request: Request) -> str:
    """The bearer token's scopes (remembered for a few seconds); a browser session has all."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return "user/*.*"
    key = digest(header[7:].strip())
    now = time.monotonic()
    cached = _scopes.get(key)
    if cached and cached[0] > now:
        return cached[1]
    scopes = session.scalar(select(ApiToken.scopes).where(ApiToken.token_hash == key)) or ""
    _scopes[key] = (now + SCOPE_CACHE_SECONDS, scopes)
    return scopes


def _check_scope(session: Session, request: Request, resource_type: str, mode: str) -> None:
    if not scope_allows(_token_scopes(session, request), resource_type, mode):
        raise FhirError(403, "forbidden", f"the token's scopes do not allow {mode} on {resource_type}")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _check_type(resource_type: str) -> None:
    if resource_type not in SUPPORTED:
        raise FhirError(404, "not-supported", f"resource type '{resource_type}' is not served here")


@router.get("/metadata")
def capability_statement(request: Request) -> Response:
    """What this server does; readable without a token, as FHIR clients expect."""
    negotiate(request)
    resources = []
    for resource_type in sorted(SUPPORTED):
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if resource_type != "MeasureReport":  # the current version only: readHistory is false
            interactions.append({"code": "vread"})
        if resource_type in PROJECTED or resource_type in STORED:
            interactions.append({"code": "create"})
        if resource_type in updates.UPDATABLE:
            interactions.append({"code": "update"})
        params = [
            {"name": "_count", "type": "number"},
            {"name": "_offset", "type": "number"},
            {"name": "_id", "type": "token"},
        ]
        if resource_type != "MeasureReport":  # computed on request: always as of now
            params.append({"name": "_lastUpdated", "type": "date"})
        spec = parameters.NATIVE.get(resource_type)
        if spec is not None:
            params += [{"name": n, "type": search_param_type(n)} for n in spec.params]
            # Patient is the compartment itself: R4 defines neither `patient` nor `date` on it.
            if spec.resident_column is not None and resource_type != "Patient":
                params.append({"name": "patient", "type": "reference"})
            if spec.date_column is not None and resource_type != "Patient":
                params.append({"name": "date", "type": "date"})
        elif resource_type == "MeasureReport":
            params += [
                {
                    "name": "period",
                    "type": "date",
                    "documentation": "2025, 2025-Q3 or 2025-07; the current year if absent",
                },
                {"name": "measure", "type": "reference"},
                {"name": "subject", "type": "reference"},
                {
                    "name": "level",
                    "definition": "urn:yilian:searchparameter:measurereport-level",
                    "type": "token",
                    "documentation": "county (default) or consortium",
                },
            ]
        elif resource_type in STORED:
            params += [
                {"name": n, "type": t}
                for n, t in (
                    ("patient", "reference"),
                    ("date", "date"),
                    ("status", "token"),
                    ("code", "token"),
                    ("identifier", "token"),
                )
            ]
        resources.append(
            {
                "type": resource_type,
                # versioned-update: an update must say the version it changes (If-Match)
                "versioning": "versioned-update" if resource_type in updates.UPDATABLE else "versioned",
                "readHistory": False,
                **(
                    {"updateCreate": False, "conditionalUpdate": False}
                    if resource_type in updates.UPDATABLE
                    else {}
                ),
                "interaction": interactions,
                "searchParam": params,
            }
        )
    return fhir_response(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-24",
            "kind": "instance",
            "software": {"name": "医联 Yilian", "version": "0.1.0"},
            "implementation": {"description": "县域医共体平台 FHIR R4 接口", "url": _base(request)},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "description": "Bearer tokens (yilian user token); SMART-style scopes such as user/*.read, user/Patient.write",
                    },
                    "resource": resources,
                    "interaction": [{"code": "transaction"}],
                }
            ],
        }
    )


def _read(session: Session, actor: Actor, request: Request, resource_type: str, ident: str) -> Response:
    negotiate(request)
    _check_type(resource_type)
    _check_scope(session, request, resource_type, "read")
    if resource_type == "MeasureReport":
        report = measures.read_measure_report(session, actor, request.app.state.db.url, ident)
        found = [report] if report else []
    else:
        found, _ = search.search(session, actor, resource_type, {"_id": ident, "_count": "1"})
    if not found:
        raise FhirError(404, "not-found", f"{resource_type}/{ident} does not exist or is not visible to you")
    actor.record_read(entity=f"fhir:{resource_type}"[:32], resident_ids=search.patients_of(found))
    return fhir_response(found[0], headers=version_headers(found[0]))


def _search(session: Session, actor: Actor, request: Request, resource_type: str) -> Response:
    negotiate(request)
    _check_type(resource_type)
    _check_scope(session, request, resource_type, "read")
    params = dict(request.query_params)
    if resource_type == "MeasureReport":
        every = measures.measure_reports(session, actor, request.app.state.db.url, params)
        count, offset = search.page_of(params)
        found, total = every[offset : offset + count], len(every)
    else:
        found, total = search.search(session, actor, resource_type, params)
    actor.record_read(
        entity=f"fhir:{resource_type}"[:32], resident_ids=search.patients_of(found), action="list"
    )
    base = _base(request)
    # The page size served (a `_count` over the cap is cut to it): self and next say that one, or
    # the next page would start past entries never sent.
    count, offset = search.page_of(params)
    params = {**params, "_count": str(count)} if "_count" in params else params
    links = [{"relation": "self", "url": f"{base}/{resource_type}?{urlencode(params)}"}]
    if offset + len(found) < total and found:
        links.append(
            {
                "relation": "next",
                "url": f"{base}/{resource_type}?{urlencode({**params, '_offset': offset + count})}",
            }
        )
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in found
            ],
        }
    )


def _context(session: Session, actor: Actor, region_code: str | None = None) -> ingest.Context:
    """New residents and institutions belong to the writer's county."""
    region = region_code or scoping.region_of(session, actor.subject)
    if region is None:
        raise FhirError(403, "forbidden", "this account has no county to write into")
    return ingest.Context(actor=actor, region_code=region, now=actor.clock.now())


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise FhirError(400, "structure", "the body is not valid JSON") from None


def _create(session: Session, actor: Actor, request: Request, resource_type: str, body: Any) -> Response:
    _check_type(resource_type)
    _check_scope(session, request, resource_type, "write")
    context = _context(session, actor)
    created = ingest.create(session, context, body, expected_type=resource_type)
    context.audit(session)
    found, _ = search.search(session, actor, created.resource_type, {"_id": created.ident, "_count": "1"})
    location = f"{_base(request)}/{created.resource_type}/{created.ident}"
    if created.notes:  # what was kept as sent and what the platform's tables hold instead
        answer = operation_outcome(
            [
                issue(
                    "information",
                    "informational",
                    f"{created.resource_type}/{created.ident} "
                    + ("created" if created.created else "already exists"),
                ),
                *created.notes,
            ]
        )
    elif found:
        answer = found[0]
    elif created.created:  # written, but outside what this account reads (a patient not yet in its grid)
        answer = {**body, "id": created.ident}
    else:  # it already existed: say so without showing someone else's record
        answer = operation_outcome(
            [issue("information", "informational", f"{created.resource_type} already exists")]
        )
    headers = {"Location": location}
    if found:
        headers |= version_headers(found[0])
    return fhir_response(answer, 201 if created.created else 200, headers)


def _transaction(session: Session, actor: Actor, request: Request, body: Any) -> Response:
    # Checked whole before the first query: on SQLite the write lock is not held while validating.
    entries = ingest.check_bundle(body)
    for entry in entries:
        resource_type = entry["resource"].get("resourceType", "")
        _check_type(resource_type)
        _check_scope(session, request, resource_type, "write")
    results = ingest.transaction(session, _context(session, actor), body, checked=entries)
    base = _base(request)
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [
                {
                    "response": {
                        "status": "201 Created" if created.created else "200 OK",
                        "location": f"{base}/{created.resource_type}/{created.ident}",
                        **({"outcome": operation_outcome(created.notes)} if created.notes else {}),
                    }
                }
                for _, created in results
            ],
        }
    )


def _vread(
    session: Session, actor: Actor, request: Request, resource_type: str, ident: str, version: str
) -> Response:
    """Only the current version is kept (`readHistory: false`): an older one is 404, saying so."""
    if resource_type == "MeasureReport":
        raise FhirError(404, "not-found", "MeasureReport is computed on request: it has no versions")
    answer = _read(session, actor, request, resource_type, ident)
    current = json.loads(bytes(answer.body))["meta"]["versionId"]
    if version != current:
        raise FhirError(
            404,
            "not-found",
            f"{resource_type}/{ident} version {version[:20]} is not kept: only the current version "
            f"({current}) is served",
        )
    return answer


def if_match(request: Request, resource_type: str) -> int:
    """The version an update changes. R4 (http.html#concurrency) lets a server require If-Match by
    answering 412 without it: personal data are not overwritten by a client that never read them."""
    header = request.headers.get("if-match")
    if not header:
        raise FhirError(
            412,
            "conflict",
            f'an update of {resource_type} must say the version it changes: send If-Match: W/"n" '
            "with the ETag of your read",
        )
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise FhirError(412, "conflict", f"If-Match '{header[:40]}' is not a version this server gave")
    return int(text)


def _update(
    session: Session, actor: Actor, request: Request, resource_type: str, ident: str, body: Any
) -> Response:
    _check_type(resource_type)
    if resource_type not in updates.UPDATABLE:
        raise FhirError(405, "not-supported", f"update is not supported on {resource_type}")
    _check_scope(session, request, resource_type, "write")
    ingest.check_writer(actor)
    resource = validate(body, resource_type)
    if str(resource.get("id", "")) != ident:
        raise FhirError(
            400,
            "invalid",
            f"{resource_type}.id must be present and equal the id in the URL ({ident[:20]})",
            [f"{resource_type}.id"],
        )
    expected = if_match(request, resource_type)
    found, _ = search.search(session, actor, resource_type, {"_id": ident, "_count": "1"})
    if not found:
        raise FhirError(404, "not-found", f"{resource_type}/{ident} does not exist or is not visible to you")
    if found[0]["meta"]["versionId"] != str(expected):
        raise updates.stale(resource_type, ident, expected)
    context = _context(session, actor)
    context.action = "update"
    done = updates.update(session, context, resource_type, ident, expected, resource)
    context.audit(session)
    found, _ = search.search(session, actor, resource_type, {"_id": ident, "_count": "1"})
    headers = {"Location": f"{_base(request)}/{resource_type}/{ident}/_history/{done.version}"}
    if not found:  # moved to a Patient this account does not read: say what was done, show nothing
        answer = operation_outcome(
            [issue("information", "informational", f"{resource_type}/{ident} updated")]
        )
        return fhir_response(answer, 200, headers)
    headers |= version_headers(found[0])
    if done.notes:
        answer = operation_outcome(
            [issue("information", "informational", f"{resource_type}/{ident} updated"), *done.notes]
        )
        return fhir_response(answer, 200, headers)
    return fhir_response(found[0], 200, headers)


@router.get("/{resource_type}/{ident}/_history/{version}")
async def vread(
    resource_type: str, ident: str, version: str, request: Request, actor: ApiActor, session: DbSession
) -> Response:
    return await committed_in_thread(session, _vread, session, actor, request, resource_type, ident, version)


@router.put("/{resource_type}/{ident}")
async def update(
    resource_type: str, ident: str, request: Request, actor: ApiActor, session: DbSession
) -> Response:
    """Update a Patient or an Observation: If-Match with the version read, 412 if it changed since."""
    negotiate(request)
    check_content_type(request)
    body = await _body(request)
    return await committed_in_thread(session, _update, session, actor, request, resource_type, ident, body)


@router.get("/{resource_type}/{ident}")
async def read(
    resource_type: str, ident: str, request: Request, actor: ApiActor, session: DbSession
) -> Response:
    return await committed_in_thread(session, _read, session, actor, request, resource_type, ident)


@router.get("/{resource_type}")
async def search_type(resource_type: str, request: Request, actor: ApiActor, session: DbSession) -> Response:
    return await committed_in_thread(session, _search, session, actor, request, resource_type)


@router.post("/{resource_type}")
async def create(resource_type: str, request: Request, actor: ApiActor, session: DbSession) -> Response:
    negotiate(request)
    check_content_type(request)
    body = await _body(request)
    return await committed_in_thread(session, _create, session, actor, request, resource_type, body)


@router.post("")
async def transaction(request: Request, actor: ApiActor, session: DbSession) -> Response:
    """A transaction Bundle: every entry is written, or none."""
    negotiate(request)
    check_content_type(request)
    body = await _body(request)
    return await committed_in_thread(session, _transaction, session, actor, request, body)
