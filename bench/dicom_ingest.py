"""File 10,000 DICOM instances at the shared imaging centre of a 300,000-resident county and print
instances per second.

    .venv/bin/python bench/synth_county.py --residents 300000      # once: builds var/bench/synth-300000.db
    .venv/bin/python bench/dicom_ingest.py --residents 300000 [--instances 10000 --per-study 20]

Measured: `diagnostics.ingest.ingest` as `yilian diagnostics import-dicom` runs it on a folder —
read each file's header with pydicom, match the study to its order by accession number (and the
patient ID to the resident), copy the file into the DICOM store, index study/series/instance, move
the orders to 已检查待诊断 — for files already on disk (generated before the clock starts). The
orders are created first, outside the timing; everything is rolled back afterwards, so the bench
database does not grow. Target (issue 5): ≥ 500 instances/s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.rules import Subject
from yilian.config import PROJECT_ROOT
from yilian.diagnostics import rules
from yilian.diagnostics.ingest import files_in, ingest
from yilian.diagnostics.schemas import CentreIn
from yilian.diagnostics.service import do_create_centre
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditWriter
from yilian.kit.clock import FixedClock
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import Consortium, ConsortiumMember, DiagnosticCentre, ExamOrder, Grid, Resident
from yilian.synth.dicom import dicom_instance, new_uid

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")

NOW = datetime(2026, 11, 24, 10, 0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--url", default="", help="a database built by bench/synth_county.py")
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--per-study", type=int, default=20)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{PROJECT_ROOT / 'var' / 'bench' / f'synth-{args.residents}.db'}"
    upgrade(url)
    engine = make_engine(url)
    studies = args.instances // args.per_study
    work = Path(tempfile.mkdtemp(prefix="yilian-dicom-bench-"))
    try:
        with Session(engine) as session:
            consortium_id = session.scalar(
                select(Consortium.id).where(Consortium.kind == "县域医共体").order_by(Consortium.id)
            )
            admin = Actor(
                subject=Subject(
                    user_id=0, username="bench", role=roles.CONSORTIUM_ADMIN, consortium_id=consortium_id
                ),
                endpoint="bench",
                audit=AuditWriter(engine=None, key=DEMO_CHAIN_KEY),
                clock=FixedClock(NOW),
            )
            centre = session.scalar(
                select(DiagnosticCentre).where(
                    DiagnosticCentre.consortium_id == consortium_id, DiagnosticCentre.kind == "imaging"
                )
            )
            if centre is None:  # a bench county built before the centres existed: open one (rolled back too)
                lead = session.scalar(
                    select(Consortium.lead_institution_id).where(Consortium.id == consortium_id)
                )
                members = session.scalars(
                    select(ConsortiumMember.institution_id).where(
                        ConsortiumMember.consortium_id == consortium_id
                    )
                ).all()
                centre = do_create_centre(
                    session,
                    actor=admin,
                    data=CentreIn(
                        name="县影像诊断中心",
                        kind="imaging",
                        host_institution_id=lead,
                        member_institution_ids=list(members),
                        turnaround_minutes={"DX": 120, "CT": 60},
                    ),
                )
            patients = session.execute(
                select(Resident.id, Resident.id_number, Grid.institution_id)
                .join(Grid, Grid.id == Resident.grid_id)
                .where(Grid.consortium_id == consortium_id)
                .order_by(Resident.id)
                .limit(studies)
            ).all()
            residents = session.scalar(select(func.count()).select_from(Resident))
            session.execute(
                insert(ExamOrder),
                [
                    {
                        "accession_number": f"B{n:09d}",
                        "resident_id": p.id,
                        "ordering_institution_id": p.institution_id,
                        "centre_id": centre.id,
                        "item_code": "CT-CHEST",
                        "item_name": "胸部CT平扫",
                        "modality": "CT",
                        "priority": 2,
                        "status": rules.ORDERED,
                        "ordered_at": NOW,
                    }
                    for n, p in enumerate(patients)
                ],
            )
            folder = work / "export"
            for n, patient in enumerate(patients):
                study, series = new_uid(), new_uid()
                target = folder / f"study{n:05d}"
                target.mkdir(parents=True)
                for i in range(1, args.per_study + 1):
                    (target / f"IM{i:04d}").write_bytes(
                        dicom_instance(
                            patient_id=patient.id_number,
                            accession_number=f"B{n:09d}",
                            study_uid=study,
                            series_uid=series,
                            modality="CT",
                            instance_number=i,
                            size=64,
                        )
                    )
            files = files_in(folder)
            size = sum(f.path.stat().st_size for f in files if f.path)
            started = time.perf_counter()
            result = ingest(session, actor=admin, files=files, store_root=work / "store")
            session.flush()
            seconds = time.perf_counter() - started
            session.rollback()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{engine.dialect.name}, {residents:,} residents: {result.received:,} DICOM files ({size / 1e6:.1f} MB, "
        f"{studies} studies × {args.per_study}) → filed {result.filed:,}, quarantined {result.quarantined}, "
        f"orders acquired {result.orders_acquired}"
    )
    print(f"ingest: {seconds:.2f} s → {result.filed / seconds:,.0f} instances/s (target ≥ 500/s)")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
