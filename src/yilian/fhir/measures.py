"""MeasureReport: the platform's indicators (issue 7) as FHIR summary reports, computed on request
for a period — one report per indicator and unit (a county or a consortium)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.fhir import mapping
from yilian.fhir.rules import FhirError
from yilian.indicators.catalogue import parse_period
from yilian.indicators.service import compute
from yilian.kit.errors import AppError

PREFIX = "urn:yilian:measure:"


def measure_reports(
    session: Session, actor: Actor, database_url: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    period_text = params.get("period") or params.get("date")
    if not period_text:
        raise FhirError(400, "required", "MeasureReport search needs period=2025 (or 2025-Q3, 2025-07)")
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
    return [
        mapping.measure_report(
            v.code,
            v.name,
            v.unit_name,
            (period.first, period.after - timedelta(days=1)),
            int(v.numerator),
            int(v.denominator),
            f"{v.code}.{v.unit_code}.{period.label}",
        )
        for v in values
        if (not measure or v.code == measure) and (not unit or v.unit_code == unit)
    ]


def read_measure_report(
    session: Session, actor: Actor, database_url: str, ident: str
) -> dict[str, Any] | None:
    code, _, rest = ident.partition(".")
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
