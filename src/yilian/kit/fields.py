"""Bounded types for what a request carries (path, query, form or body).

A number no column can hold reached the database and came back as a 500 ("Python int too large to
convert to SQLite INTEGER", PostgreSQL's "out of range"). With these types FastAPI refuses it first:
a 422 naming the field in Chinese and English (app.py renders RequestValidationError).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from yilian.kit.money import MAX_YUAN

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1

# A row's key. Keys are PostgreSQL int4 (SQLAlchemy's Integer): a larger value in a query is
# "integer out of range" there, a 500. `BigId` for the tables keyed by bigint (encounters, claims).
Id = Annotated[int, Field(ge=0, le=INT32_MAX)]
BigId = Annotated[int, Field(ge=0, le=INT64_MAX)]
# Rows to skip in a list: OFFSET takes a 64-bit value on both engines.
Offset = Annotated[int, Field(ge=0, le=INT64_MAX)]
# The calendar a request may name: Python's dates end at 9999-12-31, and the day after the last one
# ("until the end of the day", "the next month") must still be a date. Years likewise.
MIN_YEAR, MAX_YEAR = 1900, 2999
Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]
Day = Annotated[date, Field(ge=date(MIN_YEAR, 1, 1), le=date(MAX_YEAR, 12, 31))]
Moment = Annotated[datetime, Field(ge=datetime(MIN_YEAR, 1, 1), le=datetime(MAX_YEAR, 12, 31, 23, 59, 59))]
# A count, a quantity, a number of days stored in an integer column (PostgreSQL's int4).
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
# An amount in yuan with two decimals, up to 1亿元 either way (kit.money). The sign is each domain's rule.
Yuan = Annotated[Decimal, Field(decimal_places=2, ge=-MAX_YUAN, le=MAX_YUAN)]
# A share in percent ("40" for 40 %).
Percent = Annotated[Decimal, Field(ge=0, le=100)]
