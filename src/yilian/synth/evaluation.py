"""Demo data for 监测评价: 002's annex read from the notice itself, and two evaluated years.

The consortium's township health centres are scored (member institutions are one of the unit kinds
the issue names); scores are seeded, so a rebuild gives the same ranking and the same cards.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal

from rich.console import Console
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.rules import Subject
from yilian.config import Settings, shared_dir
from yilian.evaluation import rules
from yilian.evaluation.annex import sheet_rows_from_notice
from yilian.evaluation.intake import do_import_scheme_rows, do_register_unit_rows, store_entries
from yilian.evaluation.service import do_evaluate_year
from yilian.kit.audit import AuditWriter, load_chain_key
from yilian.kit.clock import FixedClock
from yilian.models import ConsortiumMember, Institution

CODE = "XJ-JCSYQ"
NAME = "基层卫生健康综合试验区监测评价细则(试行)"


def build_evaluation_demo(
    engine: Engine, *, now: datetime, seed: int, console: Console, settings: Settings
) -> None:
    found = sorted((shared_dir(settings) / "seeds").glob("002_*"))
    if not found:
        console.print(
            f"[yellow]未找到002号文件（{shared_dir(settings) / 'seeds'}）：跳过监测评价示例[/yellow]"
        )
        return
    audit = AuditWriter(engine, key=load_chain_key(settings))
    actor = Actor(
        subject=Subject(user_id=0, username="synth", role=roles.COMMISSION),
        endpoint="synth",
        audit=audit,
        clock=FixedClock(now),
    )
    rng = random.Random(seed)
    with Session(engine) as session:
        _, scheme = do_import_scheme_rows(
            session,
            actor=actor,
            rows=sheet_rows_from_notice(found[0].read_text(encoding="utf-8")),
            code=CODE,
            name=NAME,
            version="试行",
        )
        townships = session.execute(
            select(Institution.code, Institution.name)
            .join(ConsortiumMember, ConsortiumMember.institution_id == Institution.id)
            .where(Institution.type == "乡镇卫生院")
            .order_by(Institution.code)
        ).all()
        first_year = now.year - 2
        pilots, candidates = townships[:-2], townships[-2:]
        do_register_unit_rows(
            session,
            programme=CODE,
            rows=[(c, n, "pilot") for c, n in pilots] + [(c, n, "candidate") for c, n in candidates],
            year=first_year,
        )
        for year in (first_year, first_year + 1):
            entries = {
                code: [_entry(item, rng) for item in scheme.items if item.method != rules.BONUS]
                + [rules.Entry(40, events={scheme.item(40).events[-1].label: rng.randint(0, 3)})]  # type: ignore[union-attr]
                for code, _ in townships
            }
            store_entries(session, actor=actor, code=CODE, year=year, entries=entries)
            do_evaluate_year(
                session, actor=actor, code=CODE, version=None, year=year, deadline=date(year + 1, 6, 30)
            )
        session.commit()
    with engine.begin() as connection:
        audit.drain(connection)


def _entry(item: rules.Item, rng: random.Random) -> rules.Entry:
    share = Decimal(rng.randint(55, 100)) / 100
    return rules.Entry(item.number, given=rules.points(item.weight * share), evidence="示例")
