"""Referral queries (referral/repository.py): a page of a box costs the same statements however many
rows it shows; the figures' percentiles picked by the database are the numbers the Python definition
gives over every row; lists start from what the caller may read."""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.residents import create_resident
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.kit import stats
from yilian.models import FollowUpTask, Institution, Referral, Resident
from yilian.referral import repository, rules

START = datetime(2026, 11, 2, 8, 0)


def add_referral(
    session: Session,
    *,
    resident: Resident,
    origin: Institution,
    target: Institution,
    requested_at: datetime = START,
    decided_at: datetime | None = None,
    arrived_at: datetime | None = None,
    status: str = rules.REQUESTED,
    direction: str = rules.UP,
) -> Referral:
    referral = Referral(
        resident_id=resident.id,
        direction=direction,
        from_institution_id=origin.id,
        to_institution_id=target.id,
        status=status,
        inside_consortium=True,
        diagnoses="I10.x00",
        summary="血压控制不佳",
        requested_at=requested_at,
        decided_at=decided_at,
        arrived_at=arrived_at,
    )
    session.add(referral)
    session.flush()
    return referral


@pytest.fixture
def statements(connection: Connection) -> Iterator[list[str]]:
    """The SQL statements sent on the engine while the test runs (requests' sessions included)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(connection.engine, "before_cursor_execute", count)
    yield seen
    event.remove(connection.engine, "before_cursor_execute", count)


def test_a_page_of_50_referrals_costs_the_statements_of_a_page_of_5(
    client: TestClient, session: Session, statements: list[str]
) -> None:
    world = build_world(session)
    for i in range(50):
        # Each a different patient, half with a follow-up task: per-row loading shows in the count.
        referral = add_referral(
            session,
            resident=create_resident(session, grid=world.grid_a),
            origin=world.township_a,
            target=world.hospital,
            requested_at=START + timedelta(minutes=i),
        )
        if i % 2:
            session.add(
                FollowUpTask(
                    resident_id=referral.resident_id,
                    institution_id=world.hospital.id,
                    referral_id=referral.id,
                    due_on=START.date() + timedelta(days=14),
                    content="随访",
                )
            )
    doctor = bearer(session, create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id))

    def cost(limit: int) -> int:
        statements.clear()
        page = client.get("/api/referrals", params={"box": "incoming", "limit": limit}, headers=doctor)
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) == limit and page.json()["total"] == 50
        return len(statements)

    cost(1)  # warm: the token, the plans
    five, fifty = cost(5), cost(50)
    assert fifty == five, (five, fifty)
    assert five == cost(5)


def test_a_family_doctors_box_holds_the_patients_they_may_read(client: TestClient, session: Session) -> None:
    """A township's family doctor reads their own grids' residents: a referral of another grid's
    patient to the township is not in their box (before, it was listed with the patient's name and
    diagnoses, and opening it answered 404)."""
    world = build_world(session)
    own = add_referral(
        session,
        resident=world.resident_a,
        origin=world.hospital,
        target=world.township_a,
        direction=rules.DOWN,
    )
    add_referral(
        session,
        resident=world.resident_b,
        origin=world.hospital,
        target=world.township_a,
        direction=rules.DOWN,
        requested_at=START + timedelta(hours=1),
    )
    family = bearer(session, world.family_doctor_a)
    page = client.get("/api/referrals", params={"box": "incoming"}, headers=family).json()
    assert ([r["id"] for r in page["items"]], page["total"]) == ([own.id], 1)
    # The township's administrator serves every patient referred to it: both.
    admin = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    )
    assert client.get("/api/referrals", params={"box": "incoming"}, headers=admin).json()["total"] == 2


def _durations(world: World, session: Session, rng: random.Random, n: int) -> list[Referral]:
    """n referrals with decision times in whole hours, minutes, and microseconds apart (ties, and
    durations closer than SQLite's millisecond julianday can tell), some exactly on 24 h."""
    made = []
    for i in range(n):
        requested = START + timedelta(days=rng.randrange(20), seconds=rng.randrange(86_400))
        requested += timedelta(microseconds=rng.randrange(1_000_000) if i % 3 else 0)
        kind = i % 5
        if kind == 0:
            wait = timedelta(hours=rng.randrange(1, 72))
        elif kind == 1:
            wait = timedelta(hours=24, microseconds=rng.choice((-1, 0, 1)))
        elif kind == 2:
            wait = timedelta(seconds=rng.randrange(200_000), microseconds=rng.randrange(1_000_000))
        elif kind == 3:
            wait = timedelta(hours=5, microseconds=rng.randrange(700))
        else:
            wait = timedelta(minutes=rng.randrange(1, 3000))
        decided = requested + wait
        arrived = decided + timedelta(seconds=rng.randrange(300_000), microseconds=rng.randrange(1_000_000))
        made.append(
            add_referral(
                session,
                resident=world.resident_a,
                origin=world.township_a,
                target=world.hospital,
                requested_at=requested,
                decided_at=decided,
                arrived_at=arrived if i % 4 else None,
                status=rules.ARRIVED if i % 4 else rules.ACCEPTED,
            )
        )
    # One never decided: no duration.
    made.append(
        add_referral(session, resident=world.resident_a, origin=world.township_a, target=world.hospital)
    )
    return made


@pytest.mark.parametrize("target_hours", [24.0, 0.1, 1 / 3, 12.345, 48.0])
def test_percentiles_picked_by_the_database_are_the_python_definitions(
    session: Session, target_hours: float
) -> None:
    """statistics.median, kit.stats.percentile (nearest rank) and rules.within_target_share over the
    hours of every row, against what `repository.durations` picks and counts, on this engine."""
    world = build_world(session)
    made = _durations(world, session, random.Random(23), 71)
    for n in (0, 1, 2, 3, 4, 7, 10, 11, 20, 50, 71):
        chosen = made[:n] + [made[-1]]
        where = Referral.id.in_([r.id for r in chosen])
        waits = [
            (r.decided_at - r.requested_at).total_seconds() / 3600 for r in chosen if r.decided_at is not None
        ]
        picked = repository.durations(
            session,
            start=Referral.requested_at,
            end=Referral.decided_at,
            where=where,
            within_micros=rules.longest_within(target_hours),
            ranks=lambda k: (*stats.median_ranks(k), stats.nearest_rank(k, 0.9)),
        )
        assert picked.count == len(waits)
        if not waits:
            assert picked.hours_at == {} and picked.within == 0
            continue
        assert stats.median_of_ranked(picked.hours_at, picked.count) == statistics.median(waits), n
        assert picked.hours_at[stats.nearest_rank(picked.count, 0.9)] == stats.percentile(waits, 0.9), n
        assert round(picked.within / picked.count, 4) == rules.within_target_share(waits, target_hours), n
        arrivals = [
            (r.arrived_at - r.decided_at).total_seconds() / 3600
            for r in chosen
            if r.arrived_at is not None and r.decided_at is not None
        ]
        to_arrival = repository.durations(
            session, start=Referral.decided_at, end=Referral.arrived_at, where=where, ranks=stats.median_ranks
        )
        assert to_arrival.count == len(arrivals)
        if arrivals:
            assert stats.median_of_ranked(to_arrival.hours_at, to_arrival.count) == statistics.median(
                arrivals
            )


def test_the_microsecond_bound_agrees_with_the_hours() -> None:
    for target in (24.0, 0.1, 1 / 3, 12.345, 719.99, 1e-6):
        bound = rules.longest_within(target)
        assert timedelta(microseconds=bound).total_seconds() / 3600 <= target
        assert timedelta(microseconds=bound + 1).total_seconds() / 3600 > target
