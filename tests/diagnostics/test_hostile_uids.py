"""A DICOM file's UIDs are data, not paths: files whose UIDs climb out of the store (`../`), name an
absolute path or break the UID grammar are quarantined with the reason, and nothing is written
outside the DICOM store — through the upload endpoint, `yilian diagnostics import-dicom` and a pull
from the PACS."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.diagnostics import open_centres, upload
from tests.factories.world import build_world
from yilian.cli import app
from yilian.config import Settings, get_settings
from yilian.diagnostics.orthanc import OrthancClient
from yilian.kit.db import make_engine
from yilian.kit.migrate import upgrade
from yilian.models import DicomQuarantine, ImagingInstance, User
from yilian.synth.dicom import dicom_instance, new_uid


@pytest.fixture
def sandbox() -> Iterator[Path]:
    """A short directory (an absolute UID must fit in 64 characters) holding the DICOM store: any
    file the platform writes outside `sandbox/dicom` is an escape."""
    root = Path(tempfile.mkdtemp(prefix="yl"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def hostile_files(sandbox: Path, patient_id: str, accession: str) -> dict[str, bytes]:
    """One file per attack, each otherwise matching the order (so only its UIDs can refuse it)."""
    study, series = new_uid(), new_uid()

    def instance(**uids: str) -> bytes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns, rightly, that these are no UIDs
            return dicom_instance(
                patient_id=patient_id,
                accession_number=accession,
                **{"study_uid": study, "series_uid": series, **uids},  # type: ignore[arg-type]
            )

    return {
        "SOPInstanceUID": instance(sop_uid="../../../escaped-sop"),
        "StudyInstanceUID": instance(study_uid=f"{sandbox}/absolute-study"),
        "SeriesInstanceUID": instance(series_uid="../../escaped-series"),
        # 65 digits and dots: today cut to 64 and filed under another UID than the file carries.
        "SOPInstanceUID too long": instance(sop_uid="1.2." + "3" * 61),
    }


def files_outside(sandbox: Path, store: Path) -> list[Path]:
    return [p for p in sandbox.rglob("*") if p.is_file() and store not in p.parents]


def assert_quarantined_by_uid(quarantined: list[DicomQuarantine], attacks: dict[str, bytes]) -> None:
    names = sorted(row.original_name for row in quarantined)
    assert names == sorted(f"{a}.dcm" for a in attacks)
    for row in quarantined:
        tag = row.original_name.split(" ")[0].removesuffix(".dcm")
        assert tag in row.reason_en and tag in row.reason_zh, (row.reason_en, row.reason_zh)


def test_upload_quarantines_hostile_uids_and_writes_nothing_outside_the_store(
    client: TestClient, session: Session, settings: Settings, sandbox: Path
) -> None:
    store = sandbox / "dicom"
    settings.dicom_dir = str(store)
    world = build_world(session)
    centres = open_centres(client, session, world)
    ordered = client.post(
        "/api/diagnostics/orders",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
        headers=centres.township_doctor,
    ).json()
    attacks = hostile_files(sandbox, world.resident_a.id_number, ordered["accession_number"])
    good_study, good_series, good_sop = new_uid(), new_uid(), new_uid()
    good = dicom_instance(
        patient_id=world.resident_a.id_number,
        accession_number=ordered["accession_number"],
        study_uid=good_study,
        series_uid=good_series,
        sop_uid=good_sop,
    )
    result = upload(
        client,
        centres.township_doctor,
        [(f"{name}.dcm", data) for name, data in attacks.items()] + [("good.dcm", good)],
    )
    assert (result["filed"], result["quarantined"]) == (1, len(attacks))
    assert files_outside(sandbox, store) == []
    ids = list(result["quarantine_ids"])  # type: ignore[call-overload]
    assert_quarantined_by_uid(
        list(session.scalars(select(DicomQuarantine).where(DicomQuarantine.id.in_(ids)))), attacks
    )
    # The filed file's place is the server's own name for it: no UID of the file is in its path.
    (path,) = session.scalars(select(ImagingInstance.path).where(ImagingInstance.sop_uid == good_sop))
    assert not any(uid in path for uid in (good_study, good_series, good_sop)), path
    assert (store / path).read_bytes() == good


def test_import_dicom_command_quarantines_hostile_uids(
    fresh_database_url: str, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url)
    with Session(engine) as session:
        world = build_world(session)
        id_number, doctor = world.resident_a.id_number, world.family_doctor_a.username
        session.commit()
    folder = sandbox / "export"
    folder.mkdir()
    attacks = hostile_files(sandbox, id_number, "")
    for name, data in attacks.items():
        (folder / f"{name}.dcm").write_bytes(data)
    store = sandbox / "dicom"
    monkeypatch.setenv("YILIAN_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["diagnostics", "import-dicom", str(folder), "--as", doctor, "--store", str(store)]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"隔离 quarantined {len(attacks)}" in result.output, result.output
    assert [p for p in files_outside(sandbox, store) if folder not in p.parents] == []
    with Session(engine) as session:
        assert_quarantined_by_uid(list(session.scalars(select(DicomQuarantine))), attacks)
        assert session.scalar(select(ImagingInstance.id)) is None
        assert session.scalar(select(User.id).where(User.username == doctor)) is not None
    engine.dispose()


def test_a_study_pulled_from_the_pacs_with_hostile_uids_is_quarantined(
    client: TestClient, session: Session, settings: Settings, sandbox: Path, orthanc_url: str
) -> None:
    store = sandbox / "dicom"
    settings.dicom_dir = str(store)
    settings.orthanc_url = orthanc_url
    world = build_world(session)
    centres = open_centres(client, session, world)
    accession = client.post(
        "/api/diagnostics/orders",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
        headers=centres.township_doctor,
    ).json()["accession_number"]
    # One study in the PACS whose only instance names a path instead of a SOP Instance UID.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hostile = dicom_instance(
            patient_id=world.resident_a.id_number,
            accession_number=accession,
            study_uid=new_uid(),
            series_uid=new_uid(),
            sop_uid="../../../pulled",
        )
    pacs = OrthancClient(orthanc_url)
    parent = str(pacs.push_instance(hostile)["ParentStudy"])
    pacs.close()
    try:
        pulled = client.post(f"/api/diagnostics/pacs/studies/{parent}/pull", headers=centres.reader)
    finally:  # the PACS serves the whole test session: other tests count the resident's studies
        httpx.delete(f"{orthanc_url}/studies/{parent}").raise_for_status()
    assert pulled.status_code == 200, pulled.text
    assert (pulled.json()["filed"], pulled.json()["quarantined"]) == (0, 1)
    assert files_outside(sandbox, store) == []
    reason = session.scalar(
        select(DicomQuarantine.reason_en).where(DicomQuarantine.id == pulled.json()["quarantine_ids"][0])
    )
    assert reason is not None and "SOPInstanceUID" in reason


def test_a_stored_path_that_leaves_the_store_is_never_opened(sandbox: Path) -> None:
    """Rows filed before paths were the server's own may name one: pushing it to the PACS refuses."""
    from yilian.diagnostics.ingest import DicomStore, StoredPathOutside

    store = DicomStore(sandbox / "dicom")
    for outside in ("../../../etc/passwd", "/etc/passwd", "1.2/../../x.dcm", ""):
        with pytest.raises(StoredPathOutside):
            store.path_of(outside)
    assert store.path_of("1.2.3/4.5/6.7.dcm") == (sandbox / "dicom" / "1.2.3/4.5/6.7.dcm").resolve()
