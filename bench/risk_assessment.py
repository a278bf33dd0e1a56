"""Re-assess every registered chronic patient of a county and print the time it took.

    .venv/bin/python bench/synth_county.py --residents 300000      # once: builds var/bench/synth-300000.db
    .venv/bin/python bench/risk_assessment.py --residents 300000

Target (issue 3): risk assessment of all registered patients of the 300,000-resident county in < 30 s.
Measured: register refresh from diagnoses, control from the latest visits, and both rule tables
compiled to SQL and applied to every register entry — the same work `POST /api/chronic/assess` does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import sys
import time
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.chronic.assessment import active_rule_set, assess_all
from yilian.chronic.repository import refresh_control, refresh_registers_from_diagnoses
from yilian.chronic.rules import ASSESSED_DISEASES
from yilian.config import PROJECT_ROOT
from yilian.kit.db import make_engine
from yilian.models import ChronicRegister

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--url", default="", help="a database built by bench/synth_county.py")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{PROJECT_ROOT / 'var' / 'bench' / f'synth-{args.residents}.db'}"
    engine = make_engine(url)
    today = date.today()
    with Session(engine) as session:
        started = time.perf_counter()
        added = refresh_registers_from_diagnoses(session)
        refresh_control(session, today=today)
        registers = time.perf_counter()
        assessed = {}
        for disease in ASSESSED_DISEASES:
            rule_set_id, table = active_rule_set(session, disease)
            assessed[disease] = assess_all(session, table=table, rule_set_id=rule_set_id, today=today)
        session.commit()
        finished = time.perf_counter()
        colours = session.execute(
            select(ChronicRegister.disease, ChronicRegister.colour, func.count()).group_by(
                ChronicRegister.disease, ChronicRegister.colour
            )
        ).all()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"database: {url.split('@')[-1]}")
    print(f"registers_added={added} assessed={assessed}")
    print(f"colours={[tuple(c) for c in colours]}")
    print(
        f"registers_and_control_seconds={registers - started:.1f} assessment_seconds={finished - registers:.1f} "
        f"total_seconds={finished - started:.1f} peak_rss_mib={peak_mib:,.0f}"
    )


if __name__ == "__main__":
    main()
