from __future__ import annotations

import itertools
from datetime import date, datetime

from sqlalchemy.orm import Session

from yilian.kit.id_numbers import make_id_number
from yilian.models import Grid, Resident

_seq = itertools.count(1)


def create_resident(
    session: Session,
    *,
    grid: Grid | None = None,
    name: str | None = None,
    born: date = date(1960, 5, 17),
    sex: str = "F",
    region_code: str = "640181",
    phone: str | None = "13912345678",
) -> Resident:
    n = next(_seq)
    now = datetime(2026, 1, 1)
    resident = Resident(
        id_number=make_id_number(region_code, born, n, sex),
        name=name or f"居民{n}",
        sex=sex,
        birth_date=born,
        phone=phone,
        region_code=grid.region_code if grid else region_code,
        grid_id=grid.id if grid else None,
        health_card_no=f"HC{n:030d}",
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(resident)
    session.flush()
    return resident
