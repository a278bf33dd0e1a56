"""`yilian diagnostics import-dicom DIR` on the demo county: a folder of a modality's export."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.diagnostics import study_files
from yilian.cli import app
from yilian.config import get_settings
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import DicomQuarantine, ExamOrder, ImagingInstance, Resident
from yilian.synth.build import build_synthetic_region


def test_import_a_folder_with_progress_files_and_quarantine(
    fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(fresh_database_url)
    build_synthetic_region(
        fresh_database_url,
        residents_per_county=400,
        demo_password="Demo-Pass-2026",
        console=Console(quiet=True),
        settings=CHEAP_SETTINGS,
        today=date(2026, 11, 24),
    )
    engine = make_engine(fresh_database_url)
    with Session(engine) as session:
        # An imaging order of the demo still waiting for its images (the demo's worklist has some).
        waiting = session.execute(
            select(ExamOrder.id, ExamOrder.accession_number, Resident.id_number)
            .join(Resident, Resident.id == ExamOrder.resident_id)
            .where(ExamOrder.status == "acquired", ExamOrder.modality.in_(("DX", "CT")))
            .limit(1)
        ).first()
        assert waiting is not None
        # A new order the images will be matched to: reuse the waiting one's patient.
        session.execute(
            ExamOrder.__table__.update().where(ExamOrder.id == waiting.id).values(status="ordered")  # type: ignore[attr-defined]
        )
        session.commit()
    folder = tmp_path / "export" / "20261124"
    folder.mkdir(parents=True)
    for name, data in study_files(
        patient_id=waiting.id_number, accession=waiting.accession_number, instances=4
    ):
        (folder / name).write_bytes(data)
    (folder / "DICOMDIR.txt").write_text("not an image")
    monkeypatch.setenv("YILIAN_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    store = tmp_path / "store"
    result = CliRunner().invoke(
        app, ["diagnostics", "import-dicom", str(tmp_path / "export"), "--as", "ys1", "--store", str(store)]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "归档 filed 4" in result.output and "隔离 quarantined 1" in result.output
    with Session(engine) as session:
        assert session.get(ExamOrder, waiting.id).status == "acquired"  # type: ignore[union-attr]
        paths = session.scalars(select(ImagingInstance.path)).all()
        assert len(paths) == 4 and all((store / p).is_file() for p in paths)
        assert session.scalar(select(DicomQuarantine.original_name)) == "20261124/DICOMDIR.txt"
    engine.dispose()
