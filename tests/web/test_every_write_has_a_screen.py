"""Every mutating operation of the API is done from a screen, or is explicitly for machines.

Issue 22: county staff could not do most of their work on screen because most writes existed only in
the API. This test reads the OpenAPI document's POST/PUT/PATCH/DELETE operations and looks for each
in the staff front end's sources (`frontend/src`, .ts and .vue): a call `api.post|put|patch|del(…)`
or `api.upload(…)` (multipart POST) whose path, with `${…}` template parts read as path parameters, is the
operation's path template (`/api/contracts/${c.id}/renew` is `/api/contracts/{contract_id}/renew`).
An operation that no screen uses fails the test, unless MACHINE_ONLY names it with the reason.
Server-rendered form posts (paths outside /api/) still in the document are listed too: their pages
are to be replaced by screens and deleted with them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from yilian.cli import app
from yilian.config import PROJECT_ROOT

SOURCES = PROJECT_ROOT / "frontend" / "src"
MUTATING = {"post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE"}

# Operations called by other systems, never by a person on a screen. Each says who calls it.
MACHINE_ONLY: dict[tuple[str, str], str] = {
    # A machine client (HIS, LIS, a regional platform) trades a password for a bearer token;
    # people sign in with the session (POST/DELETE /api/auth/session).
    ("POST", "/api/auth/token"): "bearer tokens for machine clients",
    # FHIR R4 REST: the transaction bundle and the create interaction are for FHIR clients.
    ("POST", "/fhir"): "FHIR transaction/batch bundles from other systems",
    ("POST", "/fhir/{resource_type}"): "FHIR create from other systems",
    ("PUT", "/fhir/{resource_type}/{ident}"): "FHIR update (If-Match) from other systems",
    # Modalities and gateways send DICOM files; people resolve what lands in quarantine on screen.
    ("POST", "/api/diagnostics/dicom"): "DICOM files sent by modalities and gateways",
    # FHIR Bulk Data: a bulk client (the provincial platform) cancels its own export job.
    ("DELETE", "/fhir/$export-status/{job}"): "FHIR bulk export clients cancelling a job",
    # Visits are recorded by the institutions' HIS (this call or a FHIR Encounter); on screen an
    # admission is a bed booking's check-in and a discharge is the in-patient list's dialog.
    ("POST", "/api/encounters"): "the institutions' HIS sending visits",
    # The nightly re-assessment of every register (a scheduler with an office account); a doctor's
    # saved follow-up re-assesses that patient at once.
    ("POST", "/api/chronic/assess"): "the nightly chronic-disease re-assessment batch",
}

_CALL = re.compile(
    r"\b(?P<fn>api\.(?:post|put|patch|del|upload))\s*(?:<(?:[^<>]|<[^<>]*>)*>)?\s*\(\s*"
    r"(?:withQuery\(\s*)?(?P<q>[`'\"])(?P<path>[^`'\"]*)(?P=q)"
)
_METHOD = {
    "api.post": "POST",
    "api.put": "PUT",
    "api.patch": "PATCH",
    "api.del": "DELETE",
    "api.upload": "POST",
}


def canonical(path: str) -> str:
    """A screen's path with each template part `${expr}` as `{}`, without a query string."""
    return re.sub(r"\$\{[^}]*\}", "{}", path).split("?", 1)[0]


def template(path: str) -> re.Pattern[str]:
    """An operation's path template as a pattern: a `{name}` parameter matches any one segment (a
    literal `/cancel` of a screen matches `/{action}`, and so does a screen's `{}`)."""
    parts = re.split(r"\{[^}]*\}", path)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def used_by_a_screen(method: str, path: str, calls: set[tuple[str, str]]) -> bool:
    pattern = template(path)
    return any(m == method and pattern.fullmatch(p) for m, p in calls)


def calls_in_screens() -> set[tuple[str, str]]:
    """(method, canonical path) of every write a screen makes."""
    found: set[tuple[str, str]] = set()
    for file in sorted(SOURCES.rglob("*")):
        if file.suffix not in (".ts", ".vue") or file.name.endswith(".d.ts"):
            continue
        for match in _CALL.finditer(file.read_text(encoding="utf-8")):
            found.add((_METHOD[match["fn"]], canonical(match["path"])))
    return found


def mutating_operations(document: dict[str, object]) -> list[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return sorted(
        (MUTATING[method], path)
        for path, operations in paths.items()
        for method in operations
        if method in MUTATING
    )


def test_the_matcher_reads_template_literals_and_generics() -> None:
    source = "await api.post<Schemas['ContractOut']>(`/api/contracts/${c?.id}/renew`, { months })"
    match = _CALL.search(source)
    assert match is not None
    assert _METHOD[match["fn"]] == "POST" and canonical(match["path"]) == "/api/contracts/{}/renew"
    calls = {("POST", canonical(match["path"])), ("POST", "/api/bookings/{}/cancel")}
    assert used_by_a_screen("POST", "/api/contracts/{contract_id}/renew", calls)
    assert used_by_a_screen("POST", "/api/bookings/{booking_id}/{action}", calls)
    assert not used_by_a_screen("POST", "/api/contracts/{contract_id}/terminate", calls)
    assert not used_by_a_screen("PUT", "/api/contracts/{contract_id}/renew", calls)
    assert _CALL.search("api.get('/api/residents')") is None
    wrapped = _CALL.search("api.post<R>(withQuery(`/api/evaluation/${code}/run`, { year }))")
    assert wrapped is not None and canonical(wrapped["path"]) == "/api/evaluation/{}/run"


def test_every_mutating_operation_has_a_screen(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    dumped = CliRunner().invoke(app, ["openapi", "-o", str(target)])
    assert dumped.exit_code == 0, dumped.output
    document = json.loads(target.read_text(encoding="utf-8"))
    used = calls_in_screens()
    operations = mutating_operations(document)
    stale = sorted(set(MACHINE_ONLY) - set(operations))
    assert not stale, f"MACHINE_ONLY names operations the API no longer has: {stale}"
    missing = [
        (method, path)
        for method, path in operations
        if (method, path) not in MACHINE_ONLY and not used_by_a_screen(method, path, used)
    ]
    api_missing = [f"  {m:6} {p}" for m, p in missing if p.startswith("/api/")]
    page_posts = [f"  {m:6} {p}" for m, p in missing if not p.startswith("/api/")]
    report = []
    if api_missing:
        report.append(
            f"{len(api_missing)} of {len(operations)} mutating operations (API ones here) are used by no screen in "
            "frontend/src (add the screen, or add the operation to MACHINE_ONLY with who calls it):\n"
            + "\n".join(api_missing)
        )
    if page_posts:
        report.append(
            f"{len(page_posts)} server-rendered form posts are still in the API document (replace the page "
            "with a screen over the JSON API and delete the page):\n" + "\n".join(page_posts)
        )
    assert not report, "\n\n".join(report)
