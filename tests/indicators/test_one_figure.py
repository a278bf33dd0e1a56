"""Issue 21: one figure for one thing. The home page showed 基层就诊占比 56.1 % while the indicator
page showed 61.95 % for the same county: the home page counted the county's residents' visits
anywhere over the last twelve months, the indicator the visits at the county's institutions over
the year. Now both show the catalogue's one definition, computed by the indicator service, with the
period it is for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import PASSWORD, bearer, login
from tests.factories.encounters import create_encounter
from tests.factories.registry import create_institution
from tests.factories.residents import create_resident
from tests.factories.world import World, build_world
from yilian.app import create_app
from yilian.config import Settings
from yilian.encounters.repository import refresh_visit_summary
from yilian.kit.audit import AuditWriter
from yilian.kit.clock import FixedClock
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade

TODAY = datetime(2026, 11, 24, 9, 30)


@pytest.fixture
def county(fresh_database_url: str) -> Iterator[tuple[str, World, dict[str, str]]]:
    """灵武市 in 2026, committed (the figures are computed by DuckDB in its own process).

    At the county's institutions: 张桂兰 3 township visits, 1 county-hospital visit and 1 stay; a
    resident of 兴庆区 1 visit at 郝家桥 township. 李建国 (灵武) 1 visit at the provincial hospital.
    And 10 December 2025: 1 township visit, inside the last twelve months but not this year."""
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    with Session(engine, expire_on_commit=False) as setup:
        world = build_world(setup)
        provincial = create_institution(
            setup, name="宁夏医科大学总医院", type="综合医院", level="三级", region_code="640104"
        )
        visitor = create_resident(setup, region_code="640104")
        a, b = world.resident_a, world.resident_b
        for day in (3, 4, 5):
            create_encounter(setup, resident=a, institution=world.township_a, on=date(2026, 3, day))
        create_encounter(setup, resident=a, institution=world.hospital, on=date(2026, 4, 1))
        create_encounter(setup, resident=a, institution=world.hospital, on=date(2026, 5, 1), kind="inpatient")
        create_encounter(setup, resident=visitor, institution=world.township_b, on=date(2026, 6, 1))
        create_encounter(setup, resident=b, institution=provincial, on=date(2026, 7, 1), out_of_county=True)
        create_encounter(setup, resident=a, institution=world.township_a, on=date(2025, 12, 10))
        refresh_visit_summary(setup, start=date(2025, 12, 1), end=date(2026, 11, 30))
        headers = bearer(setup, world.commission)
        setup.commit()
    engine.dispose()
    yield fresh_database_url, world, headers


def test_the_home_page_and_the_indicators_show_one_figure_with_its_period(
    county: tuple[str, World, dict[str, str]],
) -> None:
    """基层就诊率 of 灵武市, 1 January to 24 November 2026: outpatient visits at the county's
    institutions, 4 at townships (3 + the 兴庆区 resident's) of 5 (+ 1 at the county hospital; the
    stay is not a visit, the provincial visit is not at the county's institutions, December 2025 is
    last year) = 80.00 %. The home page used to show 4 of 7 = 57.1 % (the residents' visits anywhere
    since December 2025), the indicator page 4 of 6 = 66.67 % (the stay counted as a visit).
    县域内就诊率: the county's residents' 6 visits, 5 inside the county = 83.33 %."""
    url, world, headers = county
    app = create_app(
        Settings(database_url=url, secret_key="test"), clock=FixedClock(TODAY), audit=AuditWriter(engine=None)
    )
    with TestClient(app) as client:
        api = client.get("/api/indicators", params={"period": "2026"}, headers=headers)
        assert api.status_code == 200, api.text
        by_code = {v["code"]: v for v in api.json() if v["unit_code"] == "640181"}
        share = by_code["grassroots_visit_share"]
        assert (share["numerator"], share["denominator"], share["value"], share["target"]) == (
            "4",
            "5",
            "80.00",
            "60",
        )
        assert (share["period"], share["period_start"], share["period_end"], share["as_of"]) == (
            "2026",
            "2026-01-01",
            "2026-12-31",
            "2026-11-24",
        )
        assert by_code["in_county_visit_rate"]["value"] == "83.33"

        assert login(client, world.commission.username, PASSWORD) == 200

