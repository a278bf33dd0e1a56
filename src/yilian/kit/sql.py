"""Portable SQL expressions that the two engines spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Date, any_, bindparam, cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class _DateShift(FunctionElement[Any]):
    """date + n units: SQLite date(d, '+n unit'); PostgreSQL d + interval 'n unit'."""

    type = Date()
    inherit_cache = True
    unit = "days"
    # The amount is rendered into the SQL text, so it must be part of the statement cache key:
    # without it, a cached "+6 months" was reused for "+1 month".
    _traverse_internals = [*FunctionElement._traverse_internals, ("amount", InternalTraversal.dp_plain_obj)]

    def __init__(self, value: Any, amount: int) -> None:
        self.amount = amount
        super().__init__(value)


class add_months(_DateShift):  # noqa: N801  reads as a SQL function
    """Calendar months (same clamping as registry.rules.add_months on both engines)."""

    inherit_cache = True
    unit = "months"


class add_days(_DateShift):  # noqa: N801
    inherit_cache = True
    unit = "days"


@compiles(_DateShift, "sqlite")
def _shift_sqlite(element: _DateShift, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    shifted = f"date({value}, '{element.amount:+d} {element.unit}')"
    if element.unit != "months":
        return shifted
    # SQLite rolls Aug 31 + 6 months over to Mar 3; clamp to the target month's last day, as
    # PostgreSQL and registry.rules.add_months do.
    month_end = f"date({value}, 'start of month', '{element.amount + 1:+d} months', '-1 day')"
    return f"min({shifted}, {month_end})"


@compiles(_DateShift, "postgresql")
def _shift_pg(element: _DateShift, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} + INTERVAL '{element.amount} {element.unit}') AS DATE)"


class year_month(FunctionElement[Any]):  # noqa: N801
    """'YYYY-MM' of a date column, for monthly series."""

    inherit_cache = True


@compiles(year_month, "sqlite")
def _ym_sqlite(element: year_month, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(year_month, "postgresql")
def _ym_pg(element: year_month, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


class days_between(FunctionElement[Any]):  # noqa: N801
    """Whole days from the first date to the second (second − first), as an integer."""

    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


class minutes_between(FunctionElement[Any]):  # noqa: N801
    """Whole minutes from the first timestamp to the second (second − first), rounded down."""

    inherit_cache = True


@compiles(minutes_between, "sqlite")
def _minutes_sqlite(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST((julianday({end}) - julianday({start})) * 1440 + 1e-6 AS INTEGER)"


@compiles(minutes_between, "postgresql")
def _minutes_pg(element: minutes_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 60) AS INTEGER)"


class in_parameter(FunctionElement[bool]):  # noqa: N801
    """`column IN (…)` over a list bound when the statement runs, as parameter `name`.

    PostgreSQL: `column = ANY(:name)`, one array parameter, so the SQL is the same text whatever the
    list's length (so psycopg prepares it once it has run a few times); an expanding IN is
    re-rendered on every execution. SQLite: the expanding IN."""

    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it stands: SQLite's WHERE needs no "= 1" after it
    inherit_cache = True
    _traverse_internals = [*FunctionElement._traverse_internals, ("name", InternalTraversal.dp_string)]

    def __init__(self, column: Any, name: str) -> None:
        self.name = name
        super().__init__(column)


@compiles(in_parameter)
def _in_expanding(element: in_parameter, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return str(compiler.process(column.in_(bindparam(element.name, expanding=True)), **kw))


@compiles(in_parameter, "postgresql")
def _in_array(element: in_parameter, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    # Cast in the SQL, not typed on the parameter: the list goes to the driver as it is.
    values = cast(bindparam(element.name), ARRAY(column.type))
    return str(compiler.process(column == any_(values), **kw))
