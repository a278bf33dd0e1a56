"""MeasureReport: the platform's indicators (issue 7) as FHIR summary reports, computed on request
for a period — one report per indicator and unit (a county or a consortium)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.fhir import mapping
from yilian.fhir.rules import FhirError, version_meta
from yilian.indicators.catalogue import parse_period
from yilian.indicators.service import compute
from yilian.kit.errors import AppError

PREFIX = "urn:yilian:measure:"


def measure_reports(
    session: Session, actor: Actor, database_url: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    # A plain search is the current year so far (period=2025, 2025-Q3 or 2025-07 chooses).
    period_text = params.get("period") or params.get("date") or str(actor.clock.now().year)
    measure = params.get("measure", "").removeprefix(PREFIX)
    level = params.get("level", "county")
    unexpected = set(params) - {"period", "date", "measure", "level", "_count", "_offset", "_id", "subject"}
    if unexpected:
        raise FhirError(
            400,
            "not-supported",
            f"search parameter '{sorted(unexpected)[0]}' is not supported on MeasureReport",
        )
    try:
        period = parse_period(period_text)
        values = compute(session, actor=actor, database_url=database_url, period=period_text, level=level)
    except AppError as error:
        raise FhirError(error.status if error.status != 422 else 400, "invalid", error.message_en) from None
    unit = params.get("subject", "").rpartition("/")[2]
    # Computed on request from the rows as they are now: this answer is the report's first version.
    meta = version_meta(1, actor.clock.now())
    return [
        {
            **mapping.measure_report(
                v.code,
                v.name,
                v.unit_name,
                (period.first, period.after - timedelta(days=1)),
                int(v.numerator),
                int(v.denominator),
                report_id(v.code, v.unit_code, period.label),
            ),
            "meta": meta,
        }
        for v in values
        if (not measure or v.code == measure) and (not unit or v.unit_code == unit)
    ]


def report_id(code: str, unit_code: str, period_label: str) -> str:
    """`grassroots-visit-share.640181.2025`: a FHIR id is [A-Za-z0-9-.]{1,64}, so the indicator
    code's `_` are written `-` (no indicator code has a `-`)."""
    return f"{code.replace('_', '-')}.{unit_code}.{period_label}"


def read_measure_report(
    session: Session, actor: Actor, database_url: str, ident: str
) -> dict[str, Any] | None:
    code, _, rest = ident.partition(".")
    code = code.replace("-", "_")
    unit, _, period = rest.partition(".")
    if not (code and unit and period):
        return None
    found = measure_reports(
        session, actor, database_url, {"period": period, "measure": code, "subject": unit}
    )
    if not found:
        found = measure_reports(
            session,
            actor,
            database_url,
            {"period": period, "measure": code, "subject": unit, "level": "consortium"},
        )
    return found[0] if found else None
