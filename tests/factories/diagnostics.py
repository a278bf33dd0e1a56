"""The consortium's shared centres, a recognition catalogue, and DICOM files for an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.world import World
from yilian.auth import rules as roles
from yilian.synth.dicom import dicom_instance, new_uid

CATALOGUE_CSV = (
    "项目编码,项目名称,类别,检查类型,有效期(天),需质控合格,价格(元),生效日期,失效日期\n"
    "DR-CHEST,胸部正位片,影像诊断中心,DX,30,是,60.00,2026-01-01,\n"
    "CT-HEAD,头颅CT平扫,影像诊断中心,CT,90,是,280.50,2026-01-01,\n"
    "ECG-12,常规十二导联心电图,心电诊断中心,ECG,7,否,25,2026-01-01,\n"
)


@dataclass
class Centres:
    imaging_id: int
    ecg_id: int
    admin: dict[str, str]
    township_doctor: dict[str, str]
    township_b_doctor: dict[str, str]
    reader: dict[str, str]
    hospital_admin: dict[str, str]


def open_centres(client: TestClient, session: Session, world: World) -> Centres:
    """Imaging (DX 120 min, CT 60 min) and ECG (30 min) at the county hospital for every member."""
    admin = bearer(session, world.consortium_admin)
    members = [world.township_a.id, world.township_b.id, world.clinic_a.id]
    imaging = client.post(
        "/api/diagnostics/centres",
        json={
            "name": "县影像诊断中心",
            "kind": "imaging",
            "host_institution_id": world.hospital.id,
            "member_institution_ids": members,
            "turnaround_minutes": {"DX": 120, "CT": 60},
        },
        headers=admin,
    )
    assert imaging.status_code == 201, imaging.text
    ecg = client.post(
        "/api/diagnostics/centres",
        json={
            "name": "县心电诊断中心",
            "kind": "ecg",
            "host_institution_id": world.hospital.id,
            "member_institution_ids": [world.township_a.id],
            "turnaround_minutes": {"ECG": 30},
        },
        headers=admin,
    )
    assert ecg.status_code == 201, ecg.text
    imported = client.post(
        "/api/diagnostics/recognition/catalogue",
        files={"file": ("互认目录.csv", CATALOGUE_CSV.encode(), "text/csv")},
        headers=admin,
    )
    assert imported.json() == {"imported": 3}, imported.text
    return Centres(
        imaging_id=imaging.json()["id"],
        ecg_id=ecg.json()["id"],
        admin=admin,
        township_doctor=bearer(
            session, create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
        ),
        township_b_doctor=bearer(
            session, create_user(session, role=roles.DOCTOR, institution_id=world.township_b.id)
        ),
        reader=bearer(session, world.doctor),
        hospital_admin=bearer(
            session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
        ),
    )


def study_files(
    *,
    patient_id: str,
    accession: str,
    instances: int = 2,
    modality: str = "DX",
    study_at: datetime | None = None,
) -> list[tuple[str, bytes]]:
    study, series = new_uid(), new_uid()
    return [
        (
            f"IMG{n:04d}.dcm",
            dicom_instance(
                patient_id=patient_id,
                accession_number=accession,
                study_uid=study,
                series_uid=series,
                modality=modality,
                study_at=study_at,
                instance_number=n,
            ),
        )
        for n in range(1, instances + 1)
    ]


def upload(client: TestClient, headers: dict[str, str], files: list[tuple[str, bytes]]) -> dict[str, object]:
    response = client.post(
        "/api/diagnostics/dicom",
        files=[("files", (name, data, "application/dicom")) for name, data in files],
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def order(
    client: TestClient, headers: dict[str, str], resident_id: int, item: str = "DR-CHEST", **extra: object
) -> dict:
    """An exam order of `item` for the resident (must be accepted, 201); its body."""
    response = client.post(
        "/api/diagnostics/orders",
        json={"resident_id": resident_id, "item_code": item, "clinical_note": "咳嗽两周", **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())
