"""FHIR Bulk Data export of a county: Patient, Encounter and Observation as NDJSON, resources per
second and the server's peak memory.

    .venv/bin/python bench/synth_county.py --residents 300000      # once: builds var/bench/synth-300000.db
    .venv/bin/python bench/fhir_export.py --residents 300000

The county's database is used in place (the export only reads it and adds its job row and audit).
The platform is served in this process (uvicorn in a thread, as tests/factories/live.py), so the
peak resident memory of the process is the server's, export included; the baseline is taken once
the app is up, before the export. The commission (`wjj1`) kicks off
`GET /fhir/$export?_type=Patient,Encounter,Observation` with `Prefer: respond-async`, polls the
status URL until the manifest, then downloads every file (streamed, lines counted). Every page
exported is scoped and audited as a read. Target (issue 24): a 300,000-resident county in minutes
with flat memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

# A benchmark runs as a demo install: the audit chain's public demo key unless a key file is set
# (decision 0020).
os.environ.setdefault("YILIAN_DEMO", "1")

from tests.factories.live import live_app  # noqa: E402

from yilian.auth.service import do_create_api_token  # noqa: E402
from yilian.config import Settings  # noqa: E402
from yilian.kit.db import make_engine  # noqa: E402
from yilian.kit.migrate import upgrade  # noqa: E402
from yilian.models import User  # noqa: E402

TYPES = ("Patient", "Encounter", "Observation")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def county(residents: int) -> Path:
    path = ROOT / "var" / "bench" / f"synth-{residents}.db"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "synth_county.py"), "--residents", str(residents)],
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    args = parser.parse_args()
    url = f"sqlite:///{county(args.residents)}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == "wjj1"))
        assert user is not None, "the bench county has no wjj1 account"
        token = do_create_api_token(session, user=user, name="bench-export", now=datetime.now())
        session.commit()
    engine.dispose()
    work = Path(tempfile.mkdtemp(prefix="yilian-fhir-export-"))
    headers = {"Authorization": f"Bearer {token}"}
    settings = Settings(database_url=url, dicom_dir=str(work / "dicom"), fhir_export_dir=str(work / "export"))
    with live_app(settings) as base, httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        client.get("/fhir/metadata").raise_for_status()
        baseline = peak_mib()
        started = time.perf_counter()
        kicked = client.get(f"/fhir/$export?_type={','.join(TYPES)}", headers={"Prefer": "respond-async"})
        assert kicked.status_code == 202, kicked.text
        status_url = kicked.headers["content-location"]
        while True:
            polled = client.get(status_url)
            if polled.status_code == 200:
                break
            assert polled.status_code == 202, polled.text
            time.sleep(1)
        exported = time.perf_counter() - started
        manifest = polled.json()
        counted: dict[str, int] = {}
        download_started = time.perf_counter()
        for output in manifest["output"]:
            lines = 0
            with client.stream("GET", output["url"]) as response:
                response.raise_for_status()
                for _ in response.iter_lines():
                    lines += 1
            counted[output["type"]] = lines
        downloaded = time.perf_counter() - download_started
    peak = peak_mib()
    engine = make_engine(url)
    with Session(engine) as session:
        from yilian.models import Resident

        residents = session.scalar(select(func.count()).select_from(Resident))
    engine.dispose()
    total = sum(counted.values())
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"county: {residents} residents ({url})")
    print(
        "exported: "
        + ", ".join(f"{t} {counted.get(t, 0)}" for t in TYPES)
        + f" = {total} resources in {exported:.1f} s → {total / exported:,.0f} resources/s"
    )
    print(f"downloaded: {total} lines in {downloaded:.1f} s")
    print(f"peak memory (process RSS high-water mark): {peak:.0f} MiB; before the export {baseline:.0f} MiB")
    assert all(counted.get(o["type"]) == o["count"] for o in manifest["output"]), "manifest counts differ"


if __name__ == "__main__":
    main()
