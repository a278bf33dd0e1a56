"""Portable SQL expressions that the two engines spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class add_months(FunctionElement[Any]):  # noqa: N801  reads as a SQL function
    """date + n calendar months: SQLite date(d, '+n months'); PostgreSQL d + interval."""

    type = Date()
    inherit_cache = True

    def __init__(self, value: Any, months: int) -> None:
        self.months = months
        super().__init__(value)


@compiles(add_months, "sqlite")
def _add_months_sqlite(element: add_months, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '{element.months:+d} months')"


@compiles(add_months, "postgresql")
def _add_months_pg(element: add_months, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} + INTERVAL '{element.months} months') AS DATE)"


class year_month(FunctionElement[Any]):  # noqa: N801
    """'YYYY-MM' of a date column, for monthly series."""

    inherit_cache = True


@compiles(year_month, "sqlite")
def _ym_sqlite(element: year_month, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(year_month, "postgresql")
def _ym_pg(element: year_month, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


class add_days(FunctionElement[Any]):  # noqa: N801
    """date + n days: SQLite date(d, '+n days'); PostgreSQL d + n."""

    type = Date()
    inherit_cache = True

    def __init__(self, value: Any, days: int) -> None:
        self.days = days
        super().__init__(value)


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '{element.days:+d} days')"


@compiles(add_days, "postgresql")
def _add_days_pg(element: add_days, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} + {element.days}) AS DATE)"
