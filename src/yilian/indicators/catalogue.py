"""The indicator catalogue (TOML) and its compilation to portable SQL (decision 0013).

An indicator is a definition: a fact (a view of the platform's data for one year), a numerator and
a denominator written as conditions on the fact's rows, the column each level groups by, a unit,
direction and target, and its source clause. All indicators of one fact and grouping column
compile into ONE query of conditional counts (one scan, no Python over rows), written in DuckDB's
dialect and translated by SQLGlot for Apache Spark.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot.errors import ParseError

from yilian.kit.errors import FieldError, ValidationFailed
from yilian.kit.fields import MAX_YEAR, MIN_YEAR

DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue.toml")
FACTS = ("visits", "residents", "entered", "members")
LEVELS = ("county", "consortium", "institution")
DIRECTIONS = (">=", "<=", "between")


@dataclass(frozen=True)
class Notice:
    """A policy notice a target comes from (the files in seeds/ carry its number as their prefix)."""

    id: str
    issuer: str
    title: str
    number: str  # 文号, e.g. 舟政办发〔2018〕21号; empty when the notice has none
    year: int


@dataclass(frozen=True)
class Citation:
    """Where a target is written: the notice, its headings down to the clause, the item number in
    a numbered table (002's annex), and the words themselves."""

    notice: Notice
    section: tuple[str, ...]
    quote: str
    item: str = ""

    def text(self) -> str:
        number = "，".join(x for x in (self.notice.number, f"{self.notice.year}年") if x)
        where = " ".join(self.section) + (f" 第{self.item}项" if self.item else "")
        return f"{self.notice.issuer}《{self.notice.title}》（{number}）{where}：“{self.quote}”"


OWN_TARGET = "本县（市、区）自定目标，无文件规定此数值"


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    fact: str
    numerator: str
    denominator: str
    unit: str
    direction: str
    target: Decimal | None
    source: str
    levels: dict[str, str]
    measure: str = "count"  # count the rows, or sum this column (entered figures: "value")
    target_max: Decimal | None = None  # direction "between": the upper bound
    citations: tuple[Citation, ...] = ()  # where the target is written; none: the county's own
    own_target: str = ""  # a target no notice sets: why the county chose it

    def met(self, value: Decimal | None) -> bool | None:
        if value is None or self.target is None:
            return None
        if self.direction == "between":
            return self.target <= value <= (self.target_max if self.target_max is not None else value)
        return value >= self.target if self.direction == ">=" else value <= self.target

    def terms(self) -> tuple[str, str]:
        """The numerator and denominator as SQL aggregates. Counts keep the numerator inside the
        denominator's rows; sums of entered figures add each condition's own rows."""
        if self.measure == "count":
            return (
                f"SUM(CASE WHEN ({self.numerator}) AND ({self.denominator}) THEN 1 ELSE 0 END)",
                f"SUM(CASE WHEN ({self.denominator}) THEN 1 ELSE 0 END)",
            )
        return (
            f"SUM(CASE WHEN ({self.numerator}) THEN {self.measure} ELSE 0 END)",
            f"SUM(CASE WHEN ({self.denominator}) THEN {self.measure} ELSE 0 END)",
        )


@dataclass(frozen=True)
class Period:
    """A year, a quarter or a month: [first, after). Snapshots are taken on `last`."""

    label: str
    first: date
    after: date

    @property
    def year(self) -> int:
        return self.first.year

    @property
    def last(self) -> date:
        return self.after - timedelta(days=1)


def parse_period(text: str) -> Period:
    """ "2025", "2025-Q3" or "2025-07"; anything else is refused naming the field."""
    match = re.fullmatch(r"(\d{4})(?:-Q([1-4])|-(\d{2}))?", text.strip())
    month = int(match.group(3)) if match and match.group(3) else None
    if (
        not match
        or (month is not None and not 1 <= month <= 12)
        or not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR
    ):
        raise ValidationFailed.one(
            "period",
            "期间应为年（2025）、季度（2025-Q3）或月（2025-07）",
            "period is 2025, 2025-Q3 or 2025-07",
        )
    year = int(match.group(1))
    if match.group(2):
        first = date(year, 3 * int(match.group(2)) - 2, 1)
        months = 3
    elif month:
        first, months = date(year, month, 1), 1
    else:
        first, months = date(year, 1, 1), 12
    end_month = first.month - 1 + months
    after = date(first.year + end_month // 12, end_month % 12 + 1, 1)
    return Period(text.strip(), first, after)


@dataclass(frozen=True)
class Figure:
    code: str
    name: str
    unit: str


def load_figures(text: str) -> list[Figure]:
    return [
        Figure(str(f["code"]), str(f["name"]), str(f.get("unit", "")))
        for f in tomllib.loads(text).get("figure", [])
    ]


def _condition(text: str) -> bool:
    try:
        sqlglot.parse_one(f"SELECT 1 WHERE {text}", read="duckdb")
    except ParseError:
        return False
    return ";" not in text


def _notices(data: dict[str, Any], errors: list[FieldError]) -> dict[str, Notice]:
    notices = {}
    for n in data.get("notice", []):
        try:
            notices[str(n["id"])] = Notice(
                str(n["id"]), str(n["issuer"]), str(n["title"]), str(n.get("number", "")), int(n["year"])
            )
        except (KeyError, TypeError, ValueError):
            errors.append(
                FieldError(
                    f"notice {n.get('id', '?')}",
                    "文件应有编号id、发文机关issuer、标题title和年份year",
                    "a notice needs id, issuer, title and year",
                )
            )
    return notices


def _parse(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed.one(
            "catalogue", f"指标目录不是有效的TOML：{exc}", f"not valid TOML: {exc}"
        ) from None


def source_text(citations: tuple[Citation, ...], own: str) -> str:
    """What a page shows as a target's source."""
    return "；".join(c.text() for c in citations) or (f"{OWN_TARGET}（{own}）" if own else "")


@dataclass(frozen=True)
class Target:
    """A target shown beside a figure the platform computes outside the indicator suite (e.g. the
    referral-booking share of a city hospital's outpatients), cited like an indicator's."""

    code: str
    name: str
    direction: str
    target: Decimal
    source: str
    citations: tuple[Citation, ...]
    own_target: str

    def met(self, value: Decimal | None) -> bool | None:
        if value is None:
            return None
        return value >= self.target if self.direction == ">=" else value <= self.target


def load_targets(text: str) -> list[Target]:
    """The catalogue's `[[target]]` entries; a problem names the target and the field."""
    data = _parse(text)
    errors: list[FieldError] = []
    notices = _notices(data, errors)
    targets = []
    for entry in data.get("target", []):
        code = str(entry.get("code", ""))
        citations, own, source_error = _source(entry.get("source"), notices)
        if source_error:
            errors.append(FieldError(f"target {code or '?'}.source", *source_error))
        if entry.get("direction") not in (">=", "<="):
            errors.append(
                FieldError(
                    f"target {code or '?'}.direction", "方向应为 >= 或 <=", "direction must be >= or <="
                )
            )
        try:
            target = Decimal(str(entry["target"]))
        except (KeyError, ArithmeticError):
            errors.append(
                FieldError(f"target {code or '?'}.target", "目标值应为数字", "target must be a number")
            )
            continue
        targets.append(
            Target(
                code,
                str(entry.get("name", code)),
                str(entry.get("direction", ">=")),
                target,
                source_text(citations, own),
                citations,
                own,
            )
        )
    if errors:
        raise ValidationFailed(errors, "指标目录有误", "Invalid indicator catalogue")
    return targets


def load_catalogue(text: str) -> list[Indicator]:
    """Parse and check a catalogue; every problem names the indicator and the field."""
    data = _parse(text)
    errors: list[FieldError] = []
    indicators: list[Indicator] = []
    seen: set[str] = set()
    notices = _notices(data, errors)
    for entry in data.get("indicator", []):
        code = str(entry.get("code", ""))
        where = f"indicator {code or '?'}"

        def fail(field: str, zh: str, en: str, where: str = where) -> None:
            errors.append(FieldError(f"{where}.{field}", zh, en))

        if not code or code in seen:
            fail("code", "指标代码缺失或重复", "code missing or repeated")
        seen.add(code)
        if entry.get("fact") not in FACTS:
            fail("fact", f"事实表应为{'、'.join(FACTS)}之一", f"fact must be one of {', '.join(FACTS)}")
        for field in ("numerator", "denominator"):
            if not _condition(str(entry.get(field, ""))):
                fail(field, "不是有效的SQL条件", "not a valid SQL condition")
        if entry.get("direction") not in DIRECTIONS:
            fail("direction", "方向应为 >= 或 <=", "direction must be >= or <=")
        levels = entry.get("levels", {})
        if not levels or set(levels) - set(LEVELS):
            fail("levels", f"层级应为{'、'.join(LEVELS)}", f"levels must be among {', '.join(LEVELS)}")
        target, target_max = entry.get("target"), entry.get("target_max")
        if entry.get("direction") == "between" and target_max is None:
            fail("target_max", "区间目标须有上限target_max", "a 'between' target needs target_max")
        if entry.get("measure", "count") not in ("count", "value"):
            fail("measure", "measure应为count或value", "measure must be count or value")
        citations, own, source_error = _source(entry.get("source"), notices)
        if source_error:
            fail("source", *source_error)
        indicators.append(
            Indicator(
                code=code,
                name=str(entry.get("name", code)),
                fact=str(entry.get("fact", "")),
                numerator=str(entry.get("numerator", "")),
                denominator=str(entry.get("denominator", "")),
                unit=str(entry.get("unit", "%")),
                direction=str(entry.get("direction", ">=")),
                target=None if target is None else Decimal(str(target)),
                source=source_text(citations, own),
                levels=dict(levels),
                measure=str(entry.get("measure", "count")),
                target_max=None if target_max is None else Decimal(str(target_max)),
                citations=citations,
                own_target=own,
            )
        )
    if errors:
        raise ValidationFailed(errors, "指标目录有误", "Invalid indicator catalogue")
    return indicators


def _source(
    source: object, notices: dict[str, Notice]
) -> tuple[tuple[Citation, ...], str, tuple[str, str] | None]:
    """An indicator's `source`: one citation or a list of them ({notice, section, quote, item}), or
    {own = "why"} for a target no notice sets. A bare text cannot be checked, so it is refused."""
    refused = (
        "来源应注明文件（notice）、章节（section）和原文（quote），或以own注明为本县自定目标",
        "source names the notice, section and quote, or own = why the county set the target",
    )
    if isinstance(source, dict) and set(source) == {"own"} and str(source["own"]).strip():
        return (), str(source["own"]).strip(), None
    entries = source if isinstance(source, list) else [source]
    citations = []
    for entry in entries:
        if not isinstance(entry, dict) or not {"notice", "section", "quote"} <= set(entry):
            return (), "", refused
        notice = notices.get(str(entry["notice"]))
        if notice is None:
            return (), "", (f"未知的文件“{entry['notice']}”", f"unknown notice {entry['notice']!r}")
        section = entry["section"]
        sections = tuple(str(x) for x in (section if isinstance(section, list) else [section]))
        citations.append(Citation(notice, sections, str(entry["quote"]), str(entry.get("item", ""))))
    return (tuple(citations), "", None) if citations else ((), "", refused)


@dataclass(frozen=True)
class Query:
    """One scan of a fact: the conditional counts of all its indicators, grouped by every column a
    level of one of them uses (GROUPING SETS), so each fact is read once for the whole suite."""

    fact: str
    columns: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    sql: str  # DuckDB dialect

    def in_dialect(self, dialect: str) -> str:
        return (
            self.sql if dialect == "duckdb" else sqlglot.transpile(self.sql, read="duckdb", write=dialect)[0]
        )


def compile_queries(indicators: Sequence[Indicator], levels: Sequence[str] = LEVELS) -> list[Query]:
    """One query per fact over the given levels; each row says which column it is grouped by."""
    by_fact: dict[str, list[Indicator]] = {}
    for indicator in indicators:
        if any(indicator.levels.get(level) for level in levels):
            by_fact.setdefault(indicator.fact, []).append(indicator)
    queries = []
    for fact, members in by_fact.items():
        columns = tuple(
            dict.fromkeys(i.levels[level] for i in members for level in levels if i.levels.get(level))
        )
        grouped_by = " ".join(f"WHEN GROUPING({c}) = 0 THEN '{c}'" for c in columns)
        unit = ", ".join(f"CAST({c} AS VARCHAR)" for c in columns)
        keys = ", ".join(columns)
        sums = ",\n    ".join(
            f"{i.terms()[0]} AS n_{i.code},\n    {i.terms()[1]} AS d_{i.code}" for i in members
        )
        rollup = ",\n  ".join(
            f"SUM(n_{i.code}) AS n_{i.code},\n  SUM(d_{i.code}) AS d_{i.code}" for i in members
        )
        sets = ", ".join(f"({c})" for c in columns)
        # Two steps: one scan of the fact grouped by every level's column together (a few hundred
        # groups), then the levels rolled up from that. Every term is a SUM, so the roll-up is exact;
        # grouping sets straight over the fact would aggregate its million rows once per level.
        sql = (
            f"WITH pre AS (\n  SELECT {keys},\n    {sums}\n  FROM {fact}\n  GROUP BY {keys}\n)\n"
            f"SELECT CASE {grouped_by} END AS grouped_by,\n  COALESCE({unit}) AS unit,\n  {rollup}\n"
            f"FROM pre\nGROUP BY GROUPING SETS ({sets})"
        )
        queries.append(Query(fact, columns, tuple(members), sql))
    return queries
