"""The shared imaging centre's PACS: an Orthanc server reached through its REST API.

Push: every filed instance of a study is POSTed to /instances; Orthanc's study id is kept on the
study. Look up: /tools/find at study level by accession number, patient ID or study UID. Pull: a
study found in Orthanc is downloaded instance by instance and filed like any upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.diagnostics import repository
from yilian.diagnostics.ingest import DicomStore, IncomingFile, ingest
from yilian.diagnostics.schemas import IngestOut
from yilian.diagnostics.service import access_order
from yilian.kit.errors import AppError, NotFound
from yilian.models import ImagingStudy
from yilian.residents.service import access_resident


class PacsUnavailable(AppError):
    def __init__(self, detail: str):
        super().__init__("影像归档系统(PACS)无法连接", f"the PACS cannot be reached: {detail}", 502)


@dataclass(frozen=True)
class OrthancStudy:
    orthanc_id: str
    study_uid: str
    accession_number: str
    patient_id: str
    study_date: str
    instances: int


class OrthancClient:
    def __init__(
        self, base_url: str, *, user: str | None = None, password: str | None = None, timeout: float = 30
    ):
        auth = (user, password) if user and password else None
        self.http = httpx.Client(base_url=base_url.rstrip("/"), auth=auth, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise PacsUnavailable(str(error)) from None
        if response.status_code >= 400:
            raise PacsUnavailable(f"{method} {path} → HTTP {response.status_code}: {response.text[:200]}")
        return (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else response.content
        )

    def system(self) -> dict[str, Any]:
        return dict(self._call("GET", "/system"))

    def push_instance(self, data: bytes) -> dict[str, Any]:
        """POST /instances: Orthanc answers with the instance's id and its parent study's."""
        return dict(
            self._call("POST", "/instances", content=data, headers={"Content-Type": "application/dicom"})
        )

    def find_studies(
        self,
        *,
        accession_number: str | None = None,
        patient_id: str | None = None,
        study_uid: str | None = None,
    ) -> list[OrthancStudy]:
        query = {
            key: value
            for key, value in (
                ("AccessionNumber", accession_number),
                ("PatientID", patient_id),
                ("StudyInstanceUID", study_uid),
            )
            if value
        }
        found = self._call("POST", "/tools/find", json={"Level": "Study", "Query": query, "Expand": True})
        studies = []
        for study in found:
            tags = study.get("MainDicomTags", {})
            patient = study.get("PatientMainDicomTags", {})
            instances = sum(
                len(self._call("GET", f"/series/{series}").get("Instances", []))
                for series in study.get("Series", [])
            )
            studies.append(
                OrthancStudy(
                    orthanc_id=study["ID"],
                    study_uid=tags.get("StudyInstanceUID", ""),
                    accession_number=tags.get("AccessionNumber", ""),
                    patient_id=patient.get("PatientID", ""),
                    study_date=tags.get("StudyDate", ""),
                    instances=instances,
                )
            )
        return studies

    def study_uid_of(self, orthanc_id: str) -> str:
        return str(self._call("GET", f"/studies/{orthanc_id}")["MainDicomTags"]["StudyInstanceUID"])

    def study_files(self, orthanc_id: str) -> list[tuple[str, bytes]]:
        instances = self._call("GET", f"/studies/{orthanc_id}/instances")
        return [(f"{i['ID']}.dcm", bytes(self._call("GET", f"/instances/{i['ID']}/file"))) for i in instances]


def push_study(
    session: Session, *, actor: Actor, client: OrthancClient, study_uid: str, store_root: Path
) -> str:
    """Send a filed study to the PACS; returns (and keeps) Orthanc's id of the study."""
    study = session.scalar(select(ImagingStudy).where(ImagingStudy.study_uid == study_uid))
    if study is None:
        raise NotFound("影像检查", "Imaging study")
    if study.order_id is not None:
        access_order(session, actor, study.order_id)
    else:
        access_resident(session, actor, study.resident_id)
    parent = ""
    store = DicomStore(store_root)
    for relative in repository.instance_paths(session, study.id):
        answer = client.push_instance(store.path_of(relative).read_bytes())
        parent = str(answer.get("ParentStudy", parent))
    study.orthanc_id = parent or None
    session.flush()
    actor.record_change(
        session, action="push_pacs", entity="imaging_study", entity_id=study.id, resident_id=study.resident_id
    )
    return parent


def pull_study(
    session: Session, *, actor: Actor, client: OrthancClient, orthanc_id: str, store_root: Path
) -> IngestOut:
    """Fetch a study from the PACS and file it (matched to its order or resident, or quarantined)."""
    files = [IncomingFile(name, data=data) for name, data in client.study_files(orthanc_id)]
    result = ingest(session, actor=actor, files=files, store_root=store_root)
    session.execute(
        update(ImagingStudy)
        .where(ImagingStudy.study_uid == client.study_uid_of(orthanc_id))
        .values(orthanc_id=orthanc_id)
        .execution_options(synchronize_session=False)
    )
    return result
