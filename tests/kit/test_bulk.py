"""The one bulk writer (`kit.bulk`, decision 0033): what it writes reads back as the ORM would have
written it, on both engines, and its failures are SQLAlchemy's as an INSERT's would be."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.factories.residents import create_resident
from tests.factories.world import build_world
from yilian.kit.bulk import insert_rows
from yilian.models import Resident

NOW = datetime(2026, 11, 24, 9, 30, 15, 123456)


def rows(region_code: str, grid_id: int, numbers: list[str]) -> list[dict[str, object]]:
    return [
        {
            "id_number": number,
            "name": f"批量{n}",
            "sex": "M" if n % 2 else "F",
            "birth_date": date(1950 + n, 2, 28),
            "phone": None,
            "region_code": region_code,
            "grid_id": grid_id,
            "health_card_no": f"BULK{n:028d}",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n, number in enumerate(numbers)
    ]


def test_insert_rows_returns_the_new_ids_in_order_and_reads_back_as_the_orm_writes(session: Session) -> None:
    world = build_world(session)
    before = create_resident(session, grid=world.grid_a)  # an id already taken
    numbers = [f"64018119500228{n:03d}X" for n in range(3)]
    ids = insert_rows(session, Resident, rows(world.grid_a.region_code, world.grid_a.id, numbers))
    after = create_resident(session, grid=world.grid_a)  # the ORM's next id comes after them

    assert len(set(ids)) == 3 and min(ids) > before.id and after.id > max(ids)
    session.expire_all()
    stored = session.scalars(select(Resident).where(Resident.id.in_(ids)).order_by(Resident.id)).all()
    assert [r.id for r in stored] == ids
    assert [r.id_number for r in stored] == numbers
    assert [r.birth_date for r in stored] == [date(1950, 2, 28), date(1951, 2, 28), date(1952, 2, 28)]
    assert {r.created_at for r in stored} == {NOW}
    assert {r.status for r in stored} == {"active"}  # the column's scalar default, as the ORM applies it
    # A versioned table's version and last change are kept for raw writes too (decision 0035).
    assert {r.row_version for r in stored} == {1}
    assert all(r.row_updated_at is not None for r in stored)


def test_a_bulk_writes_failure_is_sqlalchemys_integrity_error(session: Session) -> None:
    world = build_world(session)
    taken = create_resident(session, grid=world.grid_a)
    duplicate = rows(world.grid_a.region_code, world.grid_a.id, ["640181195002280011"])
    duplicate[0]["health_card_no"] = taken.health_card_no  # unique
    with pytest.raises(IntegrityError):
        insert_rows(session, Resident, duplicate)
