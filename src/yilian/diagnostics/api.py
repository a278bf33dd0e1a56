"""JSON endpoints of the shared diagnostic centres."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from yilian.diagnostics import (
    ecg,
    figures,
    ingest,
    quarantine,
    reading,
    recognition,
    repository,
    rules,
    service,
    teleconsult,
)
from yilian.diagnostics.orthanc import OrthancClient, OrthancStudy, pull_study, push_study
from yilian.diagnostics.schemas import (
    AcknowledgeIn,
    AlertOut,
    CentreIn,
    CentreOut,
    IngestOut,
    OrderIn,
    OrderOut,
    OrderPage,
    PriorReportOut,
    QcIn,
    QcPage,
    QuarantineOut,
    QuarantinePage,
    RecognisedResult,
    RecognitionItemOut,
    ReportIn,
    TeleconsultIn,
    TeleconsultOut,
    TeleconsultPage,
    TeleconsultStepIn,
)
from yilian.kit.errors import AppError, Forbidden, NotFound
from yilian.kit.fields import Day, Id, Moment, Offset
from yilian.kit.tabular import MAX_UPLOAD_BYTES, XLSX_MEDIA_TYPE
from yilian.residents.service import access_resident
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api/diagnostics", tags=["diagnostics"])


def dicom_root(request: Request) -> Path:
    return Path(request.app.state.settings.dicom_dir)


def orthanc(request: Request) -> OrthancClient:
    settings = request.app.state.settings
    if not settings.orthanc_url:
        raise AppError("未配置影像归档系统(PACS)", "no PACS configured (YILIAN_ORTHANC_URL)", 503)
    return OrthancClient(settings.orthanc_url, user=settings.orthanc_user, password=settings.orthanc_password)


@router.post("/centres", response_model=CentreOut, status_code=201)
def create_centre(data: CentreIn, actor: ApiActor, session: DbSession) -> CentreOut:
    return service.centre_out(session, service.do_create_centre(session, actor=actor, data=data))


@router.get("/centres", response_model=list[CentreOut])
def centres(actor: ApiActor, session: DbSession, consortium_id: Id) -> list[CentreOut]:
    figures.viewable_consortium(session, actor, consortium_id)
    return [service.centre_out(session, c) for c in repository.centres_of_consortium(session, consortium_id)]


class EquipmentIn(BaseModel):
    modality: str = Field(max_length=8)
    name: str = Field(min_length=1, max_length=64)
    installed_on: Day


@router.post("/equipment", status_code=201)
def register_equipment(data: EquipmentIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    device = service.do_register_equipment(
        session, actor=actor, modality=data.modality, name=data.name, installed_on=data.installed_on
    )
    return {"id": device.id}


@router.post("/orders", response_model=OrderOut, status_code=201)
def order_exam(data: OrderIn, actor: ApiActor, session: DbSession) -> OrderOut:
    """409 with `recognised_result` when a recognised, valid result exists and no repeat_reason is given."""
    order = service.do_order_exam(session, actor=actor, data=data)
    return reading.read_order(session, actor=actor, order_id=order.id)


@router.get("/orders/{order_id}", response_model=OrderOut)
def read_order(order_id: Id, actor: ApiActor, session: DbSession) -> OrderOut:
    return reading.read_order(session, actor=actor, order_id=order_id)


class AcquiredIn(BaseModel):
    acquired_at: Moment | None = None


@router.post("/orders/{order_id}/acquired", response_model=OrderOut)
def mark_acquired(order_id: Id, data: AcquiredIn, actor: ApiActor, session: DbSession) -> OrderOut:
    service.do_mark_acquired(session, actor=actor, order_id=order_id, acquired_at=data.acquired_at)
    return reading.read_order(session, actor=actor, order_id=order_id)


class CancelIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut)
def cancel(order_id: Id, data: CancelIn, actor: ApiActor, session: DbSession) -> OrderOut:
    service.do_cancel(session, actor=actor, order_id=order_id, reason=data.reason)
    return reading.read_order(session, actor=actor, order_id=order_id)


@router.post("/orders/{order_id}/report", response_model=OrderOut)
def report(order_id: Id, data: ReportIn, actor: ApiActor, session: DbSession) -> OrderOut:
    service.do_report(session, actor=actor, order_id=order_id, data=data)
    return reading.read_order(session, actor=actor, order_id=order_id)


MODALITY_PATTERN = "^(" + "|".join(rules.MODALITIES) + ")$"


@router.get("/worklist", response_model=OrderPage)
def worklist(
    actor: ApiActor,
    session: DbSession,
    status: str = Query("acquired", pattern="^(ordered|acquired)$"),
    modality: str | None = Query(None, pattern=MODALITY_PATTERN),
    q: str | None = Query(None, max_length=32, description="the accession number, or the start of a name"),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> OrderPage:
    """The centre's reading list one page at a time: critical, then signed/chronic priority, then first
    come; each row with its waiting time and the centre's report-time target for its modality."""
    return reading.worklist(
        session, actor=actor, status=status, modality=modality, q=q, offset=offset, limit=limit
    )


@router.get("/worklist/export")
def worklist_export(
    actor: ApiActor,
    session: DbSession,
    status: str = Query("acquired", pattern="^(ordered|acquired)$"),
    modality: str | None = Query(None, pattern=MODALITY_PATTERN),
    q: str | None = Query(None, max_length=32),
) -> Response:
    """The whole filtered worklist as Excel."""
    page = reading.worklist(
        session, actor=actor, status=status, modality=modality, q=q, limit=None, action="export"
    )
    return Response(
        reading.orders_workbook(page, "待诊断列表"),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": "attachment; filename=worklist.xlsx"},
    )


@router.get("/results", response_model=OrderPage)
def results(
    actor: ApiActor,
    session: DbSession,
    status: str | None = Query(None, pattern="^(ordered|acquired|reported|cancelled)$"),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> OrderPage:
    """The ordering institution's exams, newest first, one page at a time."""
    return reading.results(session, actor=actor, status=status, offset=offset, limit=limit)


@router.get("/results/export")
def results_export(
    actor: ApiActor,
    session: DbSession,
    status: str | None = Query(None, pattern="^(ordered|acquired|reported|cancelled)$"),
) -> Response:
    """The whole filtered list of the institution's exams as Excel."""
    page = reading.results(session, actor=actor, status=status, limit=None, action="export")
    return Response(
        reading.orders_workbook(page, "检查结果"),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": "attachment; filename=exam-results.xlsx"},
    )


@router.get("/orders/{order_id}/priors", response_model=list[PriorReportOut])
def priors(order_id: Id, actor: ApiActor, session: DbSession) -> list[PriorReportOut]:
    """The patient's earlier reports, newest first, shown beside the report being written."""
    return reading.prior_reports(session, actor=actor, order_id=order_id)


@router.get("/alerts", response_model=list[AlertOut])
def open_alerts(actor: ApiActor, session: DbSession) -> list[AlertOut]:
    """The institution's unacknowledged critical values (all of them: each must be acknowledged)."""
    return reading.open_alerts(session, actor=actor)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: Id, data: AcknowledgeIn, actor: ApiActor, session: DbSession) -> AlertOut:
    alert = service.do_acknowledge(session, actor=actor, alert_id=alert_id, action_taken=data.action_taken)
    return AlertOut.model_validate(alert, from_attributes=True)


def _read(upload: UploadFile) -> bytes:
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise AppError(f"文件{upload.filename}超过50MB", f"{upload.filename} is larger than 50 MB", 413)
    return data


@router.post("/dicom", response_model=IngestOut)
def upload_dicom(
    request: Request, actor: ApiActor, session: DbSession, files: list[UploadFile] = File(...)
) -> IngestOut:
    """DICOM files (multipart): filed and matched, or quarantined with the reason; none is lost."""
    incoming = [ingest.IncomingFile(u.filename or "upload.dcm", data=_read(u)) for u in files]
    return ingest.ingest(session, actor=actor, files=incoming, store_root=dicom_root(request))


@router.get("/quarantine/page", response_model=QuarantinePage)
def quarantine_page(
    actor: ApiActor,
    session: DbSession,
    include_resolved: bool = False,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=500),
) -> QuarantinePage:
    """The quarantine list, paged: each file with why it could not be filed."""
    total, rows = quarantine.quarantine_page(
        session, actor=actor, include_resolved=include_resolved, offset=offset, limit=limit
    )
    return QuarantinePage(
        total=total,
        offset=offset,
        limit=limit,
        items=[QuarantineOut.model_validate(r, from_attributes=True) for r in rows],
    )


class ResolveIn(BaseModel):
    resolution: str = Field(min_length=2, max_length=500)


@router.post("/quarantine/{quarantine_id}/resolve", response_model=QuarantineOut)
def resolve(quarantine_id: Id, data: ResolveIn, actor: ApiActor, session: DbSession) -> QuarantineOut:
    row = quarantine.do_resolve(session, actor=actor, quarantine_id=quarantine_id, resolution=data.resolution)
    return QuarantineOut.model_validate(row, from_attributes=True)


@router.post("/ecg", status_code=201)
def upload_ecg(actor: ApiActor, session: DbSession, file: UploadFile = File(...)) -> dict[str, int]:
    """The ECG carts' export (CSV/Excel): measurements onto their orders, every row or none."""
    count = ecg.do_import_ecg(session, actor=actor, filename=file.filename or "ecg.csv", data=_read(file))
    return {"imported": count}


@router.post("/studies/{study_uid}/push")
def push(study_uid: str, request: Request, actor: ApiActor, session: DbSession) -> dict[str, str]:
    client = orthanc(request)
    try:
        return {
            "orthanc_id": push_study(
                session, actor=actor, client=client, study_uid=study_uid, store_root=dicom_root(request)
            )
        }
    finally:
        client.close()


@router.get("/pacs/studies")
def pacs_find(
    request: Request,
    actor: ApiActor,
    accession_number: str | None = None,
    patient_id: str | None = None,
    study_uid: str | None = None,
) -> list[OrthancStudy]:
    if not service.ORDERERS & {actor.subject.role} and not service.READERS & {actor.subject.role}:
        raise Forbidden()
    if not (accession_number or patient_id or study_uid):
        raise NotFound("查询条件", "A search term")
    client = orthanc(request)
    try:
        return client.find_studies(
            accession_number=accession_number, patient_id=patient_id, study_uid=study_uid
        )
    finally:
        client.close()


@router.post("/pacs/studies/{orthanc_id}/pull", response_model=IngestOut)
def pacs_pull(orthanc_id: str, request: Request, actor: ApiActor, session: DbSession) -> IngestOut:
    client = orthanc(request)
    try:
        return pull_study(
            session, actor=actor, client=client, orthanc_id=orthanc_id, store_root=dicom_root(request)
        )
    finally:
        client.close()


# --- recognition ----------------------------------------------------------------------------------


@router.post("/recognition/catalogue", status_code=201)
def import_catalogue(actor: ApiActor, session: DbSession, file: UploadFile = File(...)) -> dict[str, int]:
    """The consortium's recognition catalogue from Excel/CSV: every row or none."""
    count = recognition.do_import_catalogue(
        session, actor=actor, filename=file.filename or "", data=_read(file)
    )
    return {"imported": count}


@router.get("/recognition/catalogue", response_model=list[RecognitionItemOut])
def catalogue(
    actor: ApiActor, session: DbSession, consortium_id: Id | None = None
) -> list[RecognitionItemOut]:
    """A consortium's recognition catalogue; without `consortium_id`, the one the caller orders from."""
    if consortium_id is None:
        consortium_id = service.orderer_consortium(session, actor)
    else:
        figures.viewable_consortium(session, actor, consortium_id)
    return recognition.catalogue(session, consortium_id)


class RecognitionCheck(BaseModel):
    result: RecognisedResult | None
    status: str | None
    status_label: str | None


@router.get("/recognition/check", response_model=RecognitionCheck)
def check(actor: ApiActor, session: DbSession, resident_id: Id, item_code: str) -> RecognitionCheck:
    """The resident's latest result of the item and whether it is recognised today (the prompt's data)."""
    consortium_id = service.orderer_consortium(session, actor)
    access_resident(session, actor, resident_id)
    shown, verdict = recognition.recognised_result(
        session,
        consortium_id=consortium_id,
        resident_id=resident_id,
        item_code=item_code,
        today=actor.clock.now().date(),
    )
    return RecognitionCheck(
        result=shown,
        status=verdict.value if verdict else None,
        status_label=verdict.label if verdict else None,
    )


class ReuseIn(BaseModel):
    resident_id: Id
    item_code: str


@router.post("/recognition/reuse", status_code=201)
def reuse(data: ReuseIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    """Take the recognised result instead of ordering again: a repeat avoided."""
    consortium_id = service.orderer_consortium(session, actor)
    access_resident(session, actor, data.resident_id)
    event = recognition.do_reuse(
        session,
        actor=actor,
        consortium_id=consortium_id,
        resident_id=data.resident_id,
        item_code=data.item_code,
    )
    return {"id": event.id, "prior_order_id": event.prior_order_id, "saved_fen": event.price_fen}


@router.post("/qc", status_code=201)
def record_qc(data: QcIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    return {"id": recognition.do_record_qc(session, actor=actor, data=data).id}


@router.get("/qc", response_model=QcPage)
def qc_records(
    actor: ApiActor,
    session: DbSession,
    kind: str = Query("", pattern="^(|internal|external)$"),
    passed: bool | None = None,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=500),
) -> QcPage:
    """QC records of the labs the caller runs, newest first, by kind and result, paged."""
    return recognition.qc_page(session, actor=actor, offset=offset, limit=limit, kind=kind, passed=passed)


# --- teleconsultation -----------------------------------------------------------------------------


class SpecialtiesIn(BaseModel):
    specialties: list[str]


@router.put("/remote-specialties")
def set_specialties(data: SpecialtiesIn, actor: ApiActor, session: DbSession) -> dict[str, list[str]]:
    return {"specialties": teleconsult.do_set_specialties(session, actor=actor, specialties=data.specialties)}


@router.get("/remote-specialties/{institution_id}")
def specialties(institution_id: Id, actor: ApiActor, session: DbSession) -> dict[str, list[str]]:
    return {"specialties": teleconsult.specialties_of(session, institution_id)}


@router.post("/teleconsults", response_model=TeleconsultOut, status_code=201)
def request_consult(data: TeleconsultIn, actor: ApiActor, session: DbSession) -> TeleconsultOut:
    return teleconsult.consult_out(teleconsult.do_request(session, actor=actor, data=data))


@router.post("/teleconsults/{consult_id}/step", response_model=TeleconsultOut)
def consult_step(
    consult_id: Id, data: TeleconsultStepIn, actor: ApiActor, session: DbSession
) -> TeleconsultOut:
    return teleconsult.consult_out(
        teleconsult.do_step(session, actor=actor, consult_id=consult_id, data=data)
    )


@router.get("/teleconsults", response_model=TeleconsultPage)
def consults(
    actor: ApiActor,
    session: DbSession,
    box: str = Query("incoming", pattern="^(incoming|outgoing)$"),
    status: str | None = Query(
        None, pattern="^(requested|accepted|declined|scheduled|answered|rated|withdrawn)$"
    ),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> TeleconsultPage:
    """Consultations asked of the caller's institution (incoming) or by it (outgoing), one page at a time."""
    return teleconsult.inbox(session, actor=actor, box=box, status=status, offset=offset, limit=limit)


@router.get("/teleconsults/export")
def consults_export(
    actor: ApiActor,
    session: DbSession,
    box: str = Query("incoming", pattern="^(incoming|outgoing)$"),
    status: str | None = Query(
        None, pattern="^(requested|accepted|declined|scheduled|answered|rated|withdrawn)$"
    ),
) -> Response:
    """The whole filtered box as Excel."""
    page = teleconsult.inbox(session, actor=actor, box=box, status=status, limit=None, action="export")
    return Response(
        teleconsult.consults_workbook(page),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename=teleconsults-{box}.xlsx"},
    )


# --- figures --------------------------------------------------------------------------------------


@router.get("/figures", response_model=figures.CentreFigures)
def centre_figures(
    actor: ApiActor, session: DbSession, consortium_id: Id, start: Day, end: Day
) -> figures.CentreFigures:
    return figures.centre_figures(session, actor=actor, consortium_id=consortium_id, start=start, end=end)
