"""Indicators and entered figures of another county answer exactly as an unknown county or
institution code does (decision 0022): existence outside the caller's scope is not revealed."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories.auth import actor_for
from tests.factories.world import build_far_county, build_world
from yilian.indicators.figures import Entry as FigureEntry
from yilian.indicators.figures import do_enter
from yilian.indicators.service import compute
from yilian.kit.errors import ValidationFailed


def test_another_countys_institution_and_county_read_as_unknown(session: Session) -> None:
    world = build_world(session)
    far = build_far_county(session)
    for user in (world.commission, world.consortium_admin):
        actor = actor_for(session, user)
        refusals = []
        for county in (far.hospital.region_code, "649999"):
            with pytest.raises(ValidationFailed) as failure:
                compute(session, actor=actor, database_url="sqlite://", year=2025, county=county)
            refusals.append(failure.value.errors[0].message_en.replace(county, "…"))
        assert refusals[0] == refusals[1]
    actor = actor_for(session, world.commission)
    refusals = []
    for code in (far.hospital.code, "NO-SUCH"):
        with pytest.raises(ValidationFailed) as failure:
            do_enter(session, actor=actor, entries=[FigureEntry(code, 2025, "personnel_spending", "1", 2)])
        refusals.append([(e.field, e.message_en) for e in failure.value.errors])
    assert refusals[0] == refusals[1] == [("机构编码", "not an institution you enter figures for")]
