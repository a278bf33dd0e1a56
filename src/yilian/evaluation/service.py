"""Use cases of evaluation: evaluate a year (rank, yellow cards, disqualification and replacement),
read the results and the card history. What is evaluated comes in through `intake`.

The health commission runs evaluations (002: the autonomous-region commission evaluates pilot
counties each December).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.evaluation import rules
from yilian.evaluation.intake import CANDIDATE, DISQUALIFIED, PILOT, require_evaluator, scheme_version
from yilian.indicators.catalogue import compile_queries
from yilian.indicators.engine import suite_counts
from yilian.indicators.service import catalogue, percent
from yilian.kit.errors import Conflict, Forbidden, NotFound
from yilian.models import EvaluationResult, EvaluationUnit, ScoreEntry, ScoringScheme, YellowCard

STATUS_LABELS = {PILOT: "试点", CANDIDATE: "候补", DISQUALIFIED: "已取消资格"}


@dataclass(frozen=True)
class YearResult:
    scheme: rules.Scheme
    year: int
    pilots: list[tuple[EvaluationUnit, rules.UnitScore]]
    candidates: list[tuple[EvaluationUnit, rules.UnitScore]]
    adjustment: rules.Adjustment


def do_evaluate_year(
    session: Session,
    *,
    actor: Actor,
    code: str,
    version: str | None,
    year: int,
    deadline: date,
    database_url: str | None = None,
) -> YearResult:
    """Score every pilot and candidate, rank each group, card the last two pilots, disqualify and
    replace (002 §1). Re-running a year replaces its results, unless a later year was evaluated.

    Items tied to a catalogue indicator take the unit's computed value for the year (county code or
    institution code) when `database_url` is given and no value was entered by hand."""
    require_evaluator(actor)
    row_scheme, scheme = scheme_version(session, code, version)
    later = session.scalar(select(YellowCard.id).where(YellowCard.programme == code, YellowCard.year > year))
    later = later or session.scalar(
        select(EvaluationResult.id).where(
            EvaluationResult.scheme_id == row_scheme.id, EvaluationResult.year > year
        )
    )
    if later:
        raise Conflict(
            f"{year}年之后已有评价结果，不能重算{year}年", f"a year after {year} is already evaluated"
        )
    _undo_year(session, code, row_scheme.id, year)
    units = list(
        session.scalars(
            select(EvaluationUnit).where(
                EvaluationUnit.programme == code, EvaluationUnit.status.in_((PILOT, CANDIDATE))
            )
        )
    )
    stored = session.scalars(
        select(ScoreEntry).where(ScoreEntry.scheme_id == row_scheme.id, ScoreEntry.year == year)
    ).all()
    by_unit: dict[int, list[rules.Entry]] = {}
    for s in stored:
        by_unit.setdefault(s.unit_id, []).append(
            rules.Entry(
                s.item_number,
                given=s.given,
                value=s.value,
                events=json.loads(s.events_json) if s.events_json else {},
                count=s.count,
            )
        )
    for unit_id, computed in _indicator_entries(scheme, units, year, database_url).items():
        entered = {e.number for e in by_unit.get(unit_id, [])}
        by_unit.setdefault(unit_id, []).extend(e for e in computed if e.number not in entered)
    scored = {u.id: rules.score_unit(scheme, u.code, by_unit.get(u.id, [])) for u in units}
    pilots = _ranked([u for u in units if u.status == PILOT], scored)
    candidates = _ranked([u for u in units if u.status == CANDIDATE], scored)
    carded_last_year = set(
        session.scalars(
            select(EvaluationUnit.code)
            .join(YellowCard, YellowCard.unit_id == EvaluationUnit.id)
            .where(YellowCard.programme == code, YellowCard.year == year - 1)
        )
    )
    adjustment = rules.dynamic_adjustment(
        year=year,
        pilots_ranked=[u.code for u, _ in pilots],
        candidates_ranked=[u.code for u, _ in candidates],
        carded_last_year=carded_last_year,
        deadline=deadline,
    )
    now = actor.clock.now()
    for group in (pilots, candidates):
        for position, (unit, score) in enumerate(group, start=1):
            session.add(
                EvaluationResult(
                    scheme_id=row_scheme.id,
                    year=year,
                    unit_id=unit.id,
                    status=unit.status,
                    rank=position,
                    total=score.total,
                    base=score.base,
                    bonus=score.bonus,
                    sections_json=json.dumps([str(s) for s in score.sections]),
                    items_json=json.dumps({str(k): str(v) for k, v in score.items.items()}),
                    computed_at=now,
                )
            )
    by_code = {u.code: u for u in units}
    rank_of = {u.code: i for i, (u, _) in enumerate(pilots, start=1)}
    for unit_code in adjustment.yellow_cards:
        replacement = adjustment.replacements.get(unit_code)
        session.add(
            YellowCard(
                programme=code,
                year=year,
                unit_id=by_code[unit_code].id,
                rank=rank_of[unit_code],
                deadline=deadline,
                disqualified=unit_code in adjustment.disqualified,
                replaced_by_unit_id=by_code[replacement].id if replacement else None,
            )
        )
    for unit_code in adjustment.disqualified:
        by_code[unit_code].status, by_code[unit_code].status_since = DISQUALIFIED, year
    for replacement in adjustment.replacements.values():
        by_code[replacement].status, by_code[replacement].status_since = PILOT, year
    session.flush()
    actor.record_change(
        session, action="evaluate", entity="evaluation", entity_id=f"{code}/{year}", resident_id=None
    )
    return YearResult(scheme, year, [(u, scored[u.id]) for u, _ in pilots], candidates, adjustment)


def _indicator_entries(
    scheme: rules.Scheme, units: list[EvaluationUnit], year: int, database_url: str | None
) -> dict[int, list[rules.Entry]]:
    """Values of indicator-tied items from the indicator suite, by unit (one run of the suite)."""
    wanted = [i for i in scheme.items if i.method == rules.INDICATOR and i.indicator]
    if not wanted or not database_url:
        return {}
    codes = {i.indicator for i in wanted}
    counts = suite_counts(database_url, compile_queries([i for i in catalogue() if i.code in codes]), year)
    values = {(c.code, c.unit): percent(c.numerator, c.denominator) for c in counts}
    out: dict[int, list[rules.Entry]] = {}
    for unit in units:
        for item in wanted:
            value = values.get((item.indicator or "", unit.code))
            if value is not None:
                out.setdefault(unit.id, []).append(
                    rules.Entry(item.number, value=value, evidence="平台指标计算")
                )
    return out


def _ranked(
    units: list[EvaluationUnit], scored: dict[int, rules.UnitScore]
) -> list[tuple[EvaluationUnit, rules.UnitScore]]:
    order = rules.rank([scored[u.id] for u in units])
    by_code = {u.code: u for u in units}
    return [(by_code[s.unit], s) for s in order]


def _undo_year(session: Session, code: str, scheme_id: int, year: int) -> None:
    """Before re-running a year: restore the statuses it changed, drop its results and cards."""
    cards = session.scalars(
        select(YellowCard).where(YellowCard.programme == code, YellowCard.year == year)
    ).all()
    for card in cards:
        if card.disqualified:
            unit = session.get(EvaluationUnit, card.unit_id)
            if unit is not None:
                unit.status = PILOT
        if card.replaced_by_unit_id:
            replacement = session.get(EvaluationUnit, card.replaced_by_unit_id)
            if replacement is not None:
                replacement.status = CANDIDATE
    session.execute(delete(YellowCard).where(YellowCard.programme == code, YellowCard.year == year))
    session.execute(
        delete(EvaluationResult).where(EvaluationResult.scheme_id == scheme_id, EvaluationResult.year == year)
    )
    session.flush()


def results(session: Session, *, actor: Actor, code: str, year: int) -> dict[str, Any]:
    """The year's ranking with subtotals, and the whole card history of the programme."""
    if not actor.subject.may(frozenset({roles.COMMISSION, roles.CONSORTIUM_ADMIN})):
        raise Forbidden()
    row_scheme, scheme = scheme_version(session, code)
    rows = session.execute(
        select(EvaluationResult, EvaluationUnit)
        .join(EvaluationUnit, EvaluationUnit.id == EvaluationResult.unit_id)
        .where(EvaluationResult.year == year, EvaluationUnit.programme == code)
        .order_by(EvaluationResult.status.desc(), EvaluationResult.rank)
    ).all()
    cards = session.execute(
        select(YellowCard, EvaluationUnit)
        .join(EvaluationUnit, EvaluationUnit.id == YellowCard.unit_id)
        .where(YellowCard.programme == code)
        .order_by(YellowCard.year, YellowCard.rank.desc())
    ).all()
    names = {
        u.id: u.name for u in session.scalars(select(EvaluationUnit).where(EvaluationUnit.programme == code))
    }
    return {
        "scheme": {
            "code": code,
            "version": row_scheme.version,
            "name": row_scheme.name,
            "total": str(rules.points(scheme.total)),
            "bonus_cap": str(rules.points(scheme.bonus_cap)),
            "sections": [s.name for s in scheme.sections],
        },
        "year": year,
        "ranking": [
            {
                "code": u.code,
                "name": u.name,
                "group": STATUS_LABELS.get(r.status, r.status),
                "rank": r.rank,
                "total": str(r.total),
                "base": str(r.base),
                "bonus": str(r.bonus),
                "sections": json.loads(r.sections_json),
            }
            for r, u in rows
        ],
        "cards": [
            {
                "year": c.year,
                "code": u.code,
                "name": u.name,
                "rank": c.rank,
                "deadline": c.deadline.isoformat(),
                "disqualified": c.disqualified,
                "replaced_by": names.get(c.replaced_by_unit_id) if c.replaced_by_unit_id else None,
            }
            for c, u in cards
        ],
    }


def schemes(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Every programme (newest version's name) with the years that have results, newest first."""
    if not actor.subject.may(frozenset({roles.COMMISSION, roles.CONSORTIUM_ADMIN})):
        raise Forbidden()
    rows = session.scalars(
        select(ScoringScheme).order_by(ScoringScheme.code, ScoringScheme.imported_at, ScoringScheme.id)
    ).all()
    newest = {r.code: r for r in rows}  # the last of each code wins
    years: dict[str, set[int]] = {}
    for code, year in session.execute(
        select(EvaluationUnit.programme, EvaluationResult.year)
        .join(EvaluationUnit, EvaluationUnit.id == EvaluationResult.unit_id)
        .distinct()
    ):
        years.setdefault(code, set()).add(year)
    return [
        {
            "code": code,
            "name": row.name,
            "version": row.version,
            "years": sorted(years.get(code, set()), reverse=True),
        }
        for code, row in newest.items()
    ]


def unit_detail(session: Session, *, actor: Actor, code: str, year: int, unit_code: str) -> dict[str, Any]:
    """One unit's year: each item's points beside its full marks, grouped by section."""
    if not actor.subject.may(frozenset({roles.COMMISSION, roles.CONSORTIUM_ADMIN})):
        raise Forbidden()
    row = session.execute(
        select(EvaluationResult, EvaluationUnit, ScoringScheme)
        .join(EvaluationUnit, EvaluationUnit.id == EvaluationResult.unit_id)
        .join(ScoringScheme, ScoringScheme.id == EvaluationResult.scheme_id)
        .where(EvaluationResult.year == year, EvaluationUnit.programme == code, EvaluationUnit.code == unit_code)
    ).first()
    if row is None:
        raise NotFound("评价结果", "evaluation result")
    result, unit, row_scheme = row
    scheme = rules.scheme_from_dict(json.loads(row_scheme.definition_json))
    given = json.loads(result.items_json)
    subtotals = json.loads(result.sections_json)
    return {
        "name": unit.name,
        "year": year,
        "group": STATUS_LABELS.get(result.status, result.status),
        "rank": result.rank,
        "total": str(result.total),
        "base": str(result.base),
        "bonus": str(result.bonus),
        "sections": [
            {
                "name": section.name,
                "weight": str(rules.points(section.weight)),
                "points": subtotals[i] if i < len(subtotals) else None,
                "items": [
                    {
                        "number": item.number,
                        "text": item.text,
                        "weight": str(rules.points(item.weight)),
                        "points": given.get(str(item.number)),
                    }
                    for item in section.items
                ],
            }
            for i, section in enumerate(scheme.sections)
        ],
    }
