"""care_relation counts each resident's encounters per institution, kept by the database's triggers
whatever writes the encounter, and the institution scope reads it (decision 0017)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from tests.factories.encounters import create_encounter
from tests.factories.residents import create_resident
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.auth.rules import Subject
from yilian.auth.scoping import readable_by_id, resident_visibility
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import CareRelation, Encounter, Resident

DAY = date(2026, 11, 2)


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def relations(session: Session) -> dict[tuple[int, int], int]:
    session.flush()
    return {
        (row.institution_id, row.resident_id): row.encounters for row in session.scalars(select(CareRelation))
    }


def counted_from_encounters(session: Session) -> dict[tuple[int, int], int]:
    """What care_relation must hold: the encounters themselves, grouped."""
    grouped = select(Encounter.institution_id, Encounter.resident_id, func.count()).group_by(
        Encounter.institution_id, Encounter.resident_id
    )
    return {(institution, resident): n for institution, resident, n in session.execute(grouped)}


def raw_encounter(resident_id: int, institution_id: int, on: date = DAY) -> dict[str, object]:
    return {
        "resident_id": resident_id,
        "institution_id": institution_id,
        "kind": "outpatient",
        "start_date": on,
        "end_date": on,
        "total_fen": 5000,
        "fund_fen": 2500,
        "out_of_county": False,
    }


def test_inserts_one_by_one_and_in_one_statement_are_counted(session: Session, world: World) -> None:
    a, b = world.resident_a, world.resident_b
    create_encounter(session, resident=a, institution=world.hospital, on=DAY)
    create_encounter(session, resident=a, institution=world.hospital, on=date(2026, 11, 9))
    assert relations(session) == {(world.hospital.id, a.id): 2}

    # One statement, five rows, three pairs (a COPY or an import arrives this way)
    session.execute(
        insert(Encounter).values(
            [
                raw_encounter(a.id, world.hospital.id),
                raw_encounter(a.id, world.township_a.id),
                raw_encounter(b.id, world.township_b.id),
                raw_encounter(b.id, world.township_b.id),
                raw_encounter(b.id, world.township_b.id),
            ]
        )
    )
    assert relations(session) == {
        (world.hospital.id, a.id): 3,
        (world.township_a.id, a.id): 1,
        (world.township_b.id, b.id): 3,
    }
    assert relations(session) == counted_from_encounters(session)


def test_an_update_of_other_columns_moves_nothing(session: Session, world: World) -> None:
    encounter = create_encounter(
        session, resident=world.resident_a, institution=world.hospital, on=DAY, kind="inpatient"
    )
    session.execute(
        update(Encounter).where(Encounter.id == encounter.id).values(end_date=date(2026, 11, 6), total_fen=1)
    )
    assert relations(session) == {(world.hospital.id, world.resident_a.id): 1}


def test_a_merge_moves_the_counts_to_the_survivor(session: Session, world: World) -> None:
    survivor = world.resident_a
    duplicate = create_resident(session, grid=world.grid_a, name="张桂兰")
    create_encounter(session, resident=survivor, institution=world.hospital, on=DAY)
    for on in (DAY, date(2026, 11, 3)):
        create_encounter(session, resident=duplicate, institution=world.hospital, on=on)
    create_encounter(session, resident=duplicate, institution=world.township_a, on=DAY)
    assert relations(session)[(world.hospital.id, duplicate.id)] == 2

    session.execute(
        update(Encounter).where(Encounter.resident_id == duplicate.id).values(resident_id=survivor.id)
    )
    assert relations(session) == {
        (world.hospital.id, survivor.id): 3,
        (world.township_a.id, survivor.id): 1,
    }
    assert relations(session) == counted_from_encounters(session)


def test_deletes_count_down_and_the_last_one_removes_the_pair(session: Session, world: World) -> None:
    first = create_encounter(session, resident=world.resident_b, institution=world.hospital, on=DAY)
    second = create_encounter(session, resident=world.resident_b, institution=world.hospital, on=DAY)
    key = (world.hospital.id, world.resident_b.id)
    session.execute(delete(Encounter).where(Encounter.id == first.id))
    assert relations(session) == {key: 1}
    session.execute(delete(Encounter).where(Encounter.id == second.id))
    assert relations(session) == {}


def test_the_hospital_reads_a_resident_once_seen_there_and_no_longer_after(
    session: Session, world: World
) -> None:
    doctor = Subject(
        user_id=world.doctor.id, username="d", role=roles.DOCTOR, institution_id=world.hospital.id
    )
    resident = world.resident_b  # lives in a township's grid, never referred or booked

    def visible() -> int:
        session.flush()
        return (
            session.scalar(select(func.count()).select_from(Resident).where(resident_visibility(doctor))) or 0
        )

    assert readable_by_id(session, doctor, resident.id) is None
    before = visible()
    encounter = create_encounter(session, resident=resident, institution=world.hospital, on=DAY)
    assert readable_by_id(session, doctor, resident.id) is not None
    assert visible() == before + 1
    create_encounter(session, resident=resident, institution=world.township_b, on=DAY)  # not at the hospital
    assert visible() == before + 1
    session.execute(delete(Encounter).where(Encounter.id == encounter.id))  # recorded in error
    assert readable_by_id(session, doctor, resident.id) is None
    assert visible() == before


@pytest.mark.parametrize("first", ["delete", "insert"])
def test_a_concurrent_delete_and_insert_of_one_pair_leave_the_right_count(
    fresh_database_url: str, first: str
) -> None:
    """PostgreSQL: the last encounter of a pair is deleted in one transaction while another records a
    new one for the same pair. Whichever goes first, the second waits for it on the pair's row and
    the count ends at 1 (with presence only, the delete could remove the row the insert relied on)."""
    engine = make_engine(fresh_database_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite has one writer at a time")
    upgrade(fresh_database_url)
    with Session(engine) as session:
        world = build_world(session)
        old = create_encounter(session, resident=world.resident_b, institution=world.hospital, on=DAY)
        session.commit()
        pair = (world.hospital.id, world.resident_b.id)
        old_id = old.id
    deleting, inserting = engine.connect(), engine.connect()
    deleting.begin()
    inserting.begin()
    statements = {
        "delete": (deleting, delete(Encounter).where(Encounter.id == old_id), None),
        "insert": (inserting, insert(Encounter), [raw_encounter(pair[1], pair[0])]),
    }

    def run(name: str) -> None:
        connection, statement, rows = statements[name]
        connection.execute(statement, rows) if rows else connection.execute(statement)

    run(first)
    second = "insert" if first == "delete" else "delete"
    waiting = threading.Thread(target=run, args=(second,))
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive()  # it waits for the first transaction's row lock
    statements[first][0].commit()
    waiting.join(10)
    statements[second][0].commit()
    deleting.close()
    inserting.close()
    with Session(engine) as session:
        assert relations(session) == {pair: 1} == counted_from_encounters(session)
    engine.dispose()
