"""Key population by age (≥ 65) counts who turns 65 on the day, whatever the day of the month."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.world import build_world


def test_key_population_counts_a_65th_birthday_on_the_30th(client: TestClient, session: Session) -> None:
    # The cut-off was date(year - 65, month, min(day, 28)): from the 29th to the 31st of a month,
    # residents who had turned 65 a day or three earlier were not yet counted.
    world = build_world(session)
    world.resident_a.birth_date = date(1960, 3, 30)  # 65 on 2025-03-30
    world.resident_b.birth_date = date(1960, 3, 31)  # 65 tomorrow
    session.flush()
    figures = client.get(
        "/api/chronic/figures", params={"as_of": "2025-03-30"}, headers=bearer(session, world.commission)
    ).json()
    assert figures["key_population"] == 1
