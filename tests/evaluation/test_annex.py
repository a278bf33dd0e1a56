"""The Xinjiang monitoring-evaluation rules (002 annex 1) imported from a sheet laid out like the annex."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yilian.evaluation.annex import parse_annex
from yilian.evaluation.rules import BONUS, EventTier, Scheme, Step
from yilian.kit.errors import ValidationFailed
from yilian.kit.tabular import read_table


def xinjiang(annex_xlsx: bytes) -> Scheme:
    rows = read_table("annex1.xlsx", annex_xlsx)
    return parse_annex(
        rows, code="XJ-JCSYQ", name="自治区基层卫生健康综合试验区监测评价细则(试行)", version="2023"
    )


def test_the_annex_weights_are_reproduced_exactly(annex_xlsx: bytes) -> None:
    scheme = xinjiang(annex_xlsx)
    base = [s for s in scheme.sections if not s.bonus]
    assert [s.weight for s in base] == [Decimal(n) for n in (150, 200, 100, 100, 100, 100, 80, 50, 120)]
    assert [len(s.items) for s in base] == [5, 7, 3, 6, 4, 4, 3, 3, 4]
    assert (len([i for s in base for i in s.items]), scheme.total, scheme.bonus_cap) == (39, 1000, 100)
    assert [i.weight for i in base[0].items] == [80, 20, 10, 20, 20]
    assert base[1].name == "推进紧密型县域医共体建设" and scheme.item(11).weight == 10  # type: ignore[union-attr]
    assert [i.number for i in scheme.items] == list(range(1, 43))


def test_the_bonus_rules_are_read_from_the_text(annex_xlsx: bytes) -> None:
    scheme = xinjiang(annex_xlsx)
    media, spread, posts = (scheme.item(n) for n in (40, 41, 42))
    assert media is not None and spread is not None and posts is not None
    assert {media.method, spread.method, posts.method} == {BONUS}
    assert [t.points for t in media.events] == [20, 10, 8, 5]
    assert media.events[0] == EventTier("国家主流媒体(中央电视台、人民日报、光明日报等)宣传报道", Decimal(20))
    assert [t.points for t in spread.events] == [30]
    assert posts.ladder == (Step(10, 19, Decimal(30)), Step(20, None, Decimal(100)))


def test_a_sheet_whose_items_do_not_add_up_is_refused_whole(annex_xlsx: bytes) -> None:
    rows = read_table("annex1.xlsx", annex_xlsx)
    first_item = next(r for r in rows if r[0] == "1")
    first_item[2] = "70"  # section 一 is worth 150; its items now add up to 140
    bad_weight = next(r for r in rows if r[0] == "7")
    bad_weight[2] = "四十"
    with pytest.raises(ValidationFailed) as failure:
        parse_annex(rows, code="X", name="x", version="1")
    assert [(e.field, e.row) for e in failure.value.errors] == [("权重", rows.index(bad_weight) + 1)]
    bad_weight[2] = "40"
    with pytest.raises(ValidationFailed) as failure:
        parse_annex(rows, code="X", name="x", version="1")
    assert "与各项权重之和140不一致" in failure.value.errors[0].message_zh
