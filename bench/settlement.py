"""Settle one county-year of a synthetic 300,000-resident county and print the time it took.

    .venv/bin/python bench/synth_county.py --residents 300000      # once: builds var/bench/synth-300000.db
    .venv/bin/python bench/settlement.py --residents 300000 [--year 2025]

Measured: everything `yilian settle` computes — the county-year's fund payments by institution,
kind of payer and month (read from claim_summary, which every claims write keeps exact), the budget settlement with monthly prepayment
and the surplus distribution, DRG point-value payment (case classes against the stored standards)
and outpatient capitation (signed person-days) — with the terms in docs/settlement-example.toml.
Target (issue 6): under 1 s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.config import PROJECT_ROOT, Settings, drg_scheme_dir
from yilian.insurance.config import load_config
from yilian.insurance.repository import consortium_by_code
from yilian.insurance.service import settlement_report
from yilian.kit.db import make_engine
from yilian.models import Claim, DrgGrouping

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--url", default="", help="a database built by bench/synth_county.py")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{PROJECT_ROOT / 'var' / 'bench' / f'synth-{args.residents}.db'}"
    text = (PROJECT_ROOT / "docs" / "settlement-example.toml").read_text(encoding="utf-8")
    config = load_config(text.replace("year = 2025", f"year = {args.year}", 1))
    engine = make_engine(url)
    scheme = drg_scheme_dir(Settings()).name
    with Session(engine) as session:
        consortium = consortium_by_code(session, None)
        assert consortium is not None
        claims = session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.settled_on.between(date(args.year, 1, 1), date(args.year, 12, 31)))
        )
        grouped = session.scalar(select(func.count()).select_from(DrgGrouping))
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = settlement_report(session, consortium=consortium, config=config, scheme=scheme)
            timings.append(time.perf_counter() - started)
    best = min(timings)
    print(f"{consortium.name} {args.year}: {claims:,} claims of the year, {grouped:,} grouped discharges")
    print(
        f"settlement (budget, prepayment, distribution, DRG points, capitation): best {best:.3f} s of {args.repeat}, "
        f"all {', '.join(f'{t:.3f}' for t in timings)} s"
    )
    print(
        f"outcome {report.settlement.outcome}; year-end payment {report.settlement.figure('year_end_payment') / 100:,.2f} yuan"
    )
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
