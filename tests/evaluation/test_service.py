"""Evaluating the Xinjiang pilot counties on the database: two years, cards, disqualification, replacement."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import actor_for
from tests.factories.evaluation import XINJIANG, import_xinjiang, register_units, scores_csv
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.evaluation import intake, service
from yilian.kit.errors import ValidationFailed
from yilian.models import EvaluationUnit, ScoreEntry, User, YellowCard

CODE = XINJIANG


@pytest.fixture
def commission(session: Session) -> User:
    return build_world(session).commission


def test_two_years_of_evaluation(session: Session, commission: User, annex_xlsx: bytes) -> None:
    actor = actor_for(session, commission)
    stored = import_xinjiang(session, actor=actor, workbook=annex_xlsx)
    assert (stored.total_points, stored.bonus_cap) == (1000, 100)
    assert register_units(session, actor=actor, year=2023) == 9

    media = "国家主流媒体(中央电视台、人民日报、光明日报等)宣传报道=2"
    first = {"P0": 80, "P1": 75, "P2": 70, "P3": 65, "P4": 40, "P5": 50, "C0": 60, "C1": 78, "C2": 30}
    intake.do_import_scores(
        session,
        actor=actor,
        code=CODE,
        version=None,
        year=2023,
        filename="s.csv",
        data=scores_csv(first, [f"P4,40,,,{media},,新疆日报"]),  # 拜城县 +40 bonus → 80
    )
    year_one = service.do_evaluate_year(
        session, actor=actor, code=CODE, version=None, year=2023, deadline=date(2024, 6, 30)
    )
    # 拜城县 (40 + 40 bonus) ties 新源县 (80) on 80; the base breaks the tie (80 > 40).
    assert [u.name for u, _ in year_one.pilots] == [
        "新源县",
        "拜城县",
        "伊宁市",
        "布尔津县",
        "巴里坤县",
        "洛浦县",
    ]
    assert [s.total for _, s in year_one.pilots] == [80, 80, 75, 70, 65, 50]
    assert year_one.adjustment.yellow_cards == ("P5", "P3")  # 洛浦县, 巴里坤县: worst first
    assert year_one.adjustment.disqualified == ()

    second = {"P0": 80, "P1": 40, "P2": 70, "P3": 66, "P4": 62, "P5": 45, "C0": 60, "C1": 79, "C2": 30}
    intake.do_import_scores(
        session, actor=actor, code=CODE, version=None, year=2024, filename="s.csv", data=scores_csv(second)
    )
    year_two = service.do_evaluate_year(
        session, actor=actor, code=CODE, version=None, year=2024, deadline=date(2025, 6, 30)
    )
    # 新源县 80, 布尔津县 70, 巴里坤县 66, 拜城县 62, 洛浦县 45, 伊宁市 40: 伊宁市 and 洛浦县 carded;
    # 洛浦县 was carded in 2023 too → out; the best candidate, 候补乙县 (79), replaces it.
    assert year_two.adjustment.yellow_cards == ("P1", "P5")
    assert year_two.adjustment.disqualified == ("P5",) and year_two.adjustment.replacements == {"P5": "C1"}
    statuses = dict(session.execute(select(EvaluationUnit.name, EvaluationUnit.status)).all())
    assert (
        statuses["洛浦县"] == "disqualified"
        and statuses["候补乙县"] == "pilot"
        and statuses["伊宁市"] == "pilot"
    )

    report = service.results(session, actor=actor, code=CODE, year=2024)
    pilots = [r for r in report["ranking"] if r["group"] == "试点"]
    assert [(r["name"], r["total"]) for r in pilots][:2] == [("新源县", "80.00"), ("布尔津县", "70.00")]
    history = [(c["year"], c["name"], c["disqualified"], c["replaced_by"]) for c in report["cards"]]
    assert history == [
        (2023, "洛浦县", False, None),
        (2023, "巴里坤县", False, None),
        (2024, "伊宁市", False, None),
        (2024, "洛浦县", True, "候补乙县"),
    ]
    # Re-running 2024 gives the same outcome and restores statuses first (no double replacement).
    service.do_evaluate_year(
        session, actor=actor, code=CODE, version=None, year=2024, deadline=date(2025, 6, 30)
    )
    assert session.scalar(select(func.count()).select_from(YellowCard)) == 4
    assert session.scalar(select(func.count()).where(EvaluationUnit.status == "pilot")) == 6


def test_a_bad_score_sheet_changes_nothing(session: Session, commission: User, annex_xlsx: bytes) -> None:
    actor = actor_for(session, commission)
    import_xinjiang(session, actor=actor, workbook=annex_xlsx, name="x")
    register_units(session, actor=actor, year=2023)
    bad = scores_csv(
        {"P0": 80},
        ["P1,1,95,,,,", "P9,1,10,,,,", "P2,99,1,,,,", "P3,40,,,省级媒体=1,,", "P4,42,,,,十个,"],
    )
    with pytest.raises(ValidationFailed) as failure:
        intake.do_import_scores(
            session, actor=actor, code=CODE, version=None, year=2023, filename="s.csv", data=bad
        )
    assert [(e.row, e.field) for e in failure.value.errors] == [
        (3, "item 1"),
        (4, "单位编码"),
        (5, "序号"),
        (6, "item 40"),
        (7, "得分"),
    ]
    assert session.scalar(select(func.count()).select_from(ScoreEntry)) == 0
    doctor = session.scalar(select(User).where(User.role == roles.DOCTOR))
    with pytest.raises(Exception, match="卫健委"):
        intake.do_import_scores(
            session,
            actor=actor_for(session, doctor),
            code=CODE,
            version=None,
            year=2023,
            filename="s.csv",
            data=scores_csv({"P0": 80}),
        )
