"""Filing DICOM files at the shared imaging centre: read each header, match the study to its order
(accession number) or resident (ID or health-card number in PatientID), keep the file, index
study/series/instance, and quarantine what cannot be filed — set-based, a batch at a time."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.scoping import resident_visibility
from yilian.diagnostics import rules
from yilian.diagnostics.dicom import BadDicom, DicomHeader, read_header
from yilian.diagnostics.schemas import IngestOut
from yilian.kit.errors import AppError, Forbidden
from yilian.models import (
    DiagnosticCentre,
    DicomQuarantine,
    ExamOrder,
    ExamOrderEvent,
    ImagingInstance,
    ImagingSeries,
    ImagingStudy,
    Resident,
)

UPLOADERS = frozenset({roles.DOCTOR, roles.FAMILY_DOCTOR, roles.INSTITUTION_ADMIN, roles.CONSORTIUM_ADMIN})
BATCH = 1000
ORDER_TABLE = cast(Table, ExamOrder.__table__)


@dataclass(frozen=True)
class IncomingFile:
    name: str
    data: bytes | None = None
    path: Path | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


@dataclass
class _Tally:
    received: int = 0
    filed: int = 0
    duplicates: int = 0
    studies: int = 0
    orders_acquired: int = 0
    quarantine_ids: list[int] = field(default_factory=list)


def files_in(folder: Path) -> list[IncomingFile]:
    """Every regular file under a folder (modalities export DICOM with or without the .dcm suffix)."""
    return [
        IncomingFile(p.relative_to(folder).as_posix(), path=p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def orders_visible_to(actor: Actor) -> ColumnElement[bool]:
    """Orders an uploader may file images for: its institution ordered them or hosts the centre."""
    subject = actor.subject
    if subject.role == roles.CONSORTIUM_ADMIN and subject.consortium_id:
        return ExamOrder.centre_id.in_(
            select(DiagnosticCentre.id).where(DiagnosticCentre.consortium_id == subject.consortium_id)
        )
    hosted = select(DiagnosticCentre.id).where(DiagnosticCentre.host_institution_id == subject.institution_id)
    return or_(ExamOrder.ordering_institution_id == subject.institution_id, ExamOrder.centre_id.in_(hosted))


def _chunks(files: Iterable[IncomingFile], size: int) -> Iterator[list[IncomingFile]]:
    iterator = iter(files)
    while chunk := list(islice(iterator, size)):
        yield chunk


SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class DicomStore:
    """Files on disk under names the server makes, never from the file's content: a filed instance
    lives under the SHA-256 of its bytes (a UID is data — `../` or an absolute path in one must not
    choose where a file is written), a quarantined file under a fresh name that keeps a sanitised
    copy of the original name for a person to recognise."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved: Path | None = None

    def path_of(self, relative: str) -> Path:
        """The file a stored path names, refused if it would leave the store (rows written before
        paths were the server's own may still name one)."""
        if self._resolved is None:
            self._resolved = self.root.resolve()
        root = self._resolved
        target = (root / relative).resolve()
        if root not in target.parents:
            raise StoredPathOutside()
        return target

    def put_instance(self, incoming: IncomingFile, data: bytes | None) -> tuple[str, int]:
        """Keep a filed instance; its path in the store and its size."""
        content = data if data is not None else incoming.read()
        name = hashlib.sha256(content).hexdigest()
        relative = f"instances/{name[:2]}/{name[2:4]}/{name}.dcm"
        self._write(relative, content)
        return relative, len(content)

    def put_quarantined(self, incoming: IncomingFile, data: bytes | None, at: datetime) -> str:
        relative = f"quarantine/{at:%Y%m%d}/{uuid.uuid4().hex[:12]}_{SAFE_NAME.sub('_', incoming.name)[-80:]}"
        self._write(relative, data if data is not None else incoming.read())
        return relative

    def _write(self, relative: str, content: bytes) -> None:
        target = self.path_of(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a reader never sees half a file.
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        partial.write_bytes(content)
        os.replace(partial, target)


class StoredPathOutside(AppError):
    def __init__(self) -> None:
        super().__init__(
            "影像文件的存储路径不在影像存储目录内，已拒绝读取",
            "The image's stored path lies outside the DICOM store; refused",
            409,
        )


def ingest(
    session: Session,
    *,
    actor: Actor,
    files: Iterable[IncomingFile],
    store_root: Path,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> IngestOut:
    """File every incoming DICOM file or quarantine it with the reason; nothing is dropped."""
    if not actor.subject.may(UPLOADERS):
        raise Forbidden("当前角色不能上传影像", "Your role cannot upload images")
    store = DicomStore(store_root)
    tally = _Tally()
    for chunk in _chunks(files, batch):
        _ingest_batch(session, actor, store, chunk, tally)
        if progress:
            progress(len(chunk))
    return IngestOut(
        received=tally.received,
        filed=tally.filed,
        duplicates=tally.duplicates,
        quarantined=len(tally.quarantine_ids),
        studies=tally.studies,
        orders_acquired=tally.orders_acquired,
        quarantine_ids=tally.quarantine_ids,
    )


def _lookup(session: Session, statement: Select[str, int]) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in session.execute(statement)}


def _ingest_batch(
    session: Session, actor: Actor, store: DicomStore, chunk: list[IncomingFile], tally: _Tally
) -> None:
    now = actor.clock.now()
    tally.received += len(chunk)
    parsed: list[tuple[IncomingFile, bytes | None, DicomHeader]] = []
    refused: list[tuple[IncomingFile, bytes | None, str, str, DicomHeader | None]] = []
    for incoming in chunk:
        data = incoming.data if incoming.data is not None else None
        try:
            header = read_header(data if data is not None else incoming.path)  # type: ignore[arg-type]
        except BadDicom as bad:
            refused.append((incoming, data, bad.reason_zh, bad.reason_en, None))
            continue
        parsed.append((incoming, data, header))

    accessions = {h.accession_number for _, _, h in parsed if h.accession_number}
    orders = {
        o.accession_number: o
        for o in session.scalars(
            select(ExamOrder).where(ExamOrder.accession_number.in_(accessions), orders_visible_to(actor))
        )
    }
    patient_ids = {h.patient_id for _, _, h in parsed}
    visible = resident_visibility(actor.subject)
    by_id_number = _lookup(
        session, select(Resident.id_number, Resident.id).where(Resident.id_number.in_(patient_ids), visible)
    )
    by_card = _lookup(
        session,
        select(Resident.health_card_no, Resident.id).where(Resident.health_card_no.in_(patient_ids), visible),
    )
    patient_residents = {pid: by_id_number.get(pid) or by_card.get(pid) for pid in patient_ids}
    # An image that came without an accession number goes to the resident's oldest open order of its modality.
    open_orders: dict[tuple[int, str], ExamOrder] = {}
    residents = {r for r in patient_residents.values() if r}
    for open_order in session.scalars(
        select(ExamOrder)
        .where(
            ExamOrder.resident_id.in_(residents), ExamOrder.status == rules.ORDERED, orders_visible_to(actor)
        )
        .order_by(ExamOrder.ordered_at.desc())
    ):
        open_orders[(open_order.resident_id, open_order.modality)] = open_order

    study_uids = {h.study_uid for _, _, h in parsed}
    studies = {
        s.study_uid: s
        for s in session.scalars(select(ImagingStudy).where(ImagingStudy.study_uid.in_(study_uids)))
    }
    series_ids = _lookup(
        session,
        select(ImagingSeries.series_uid, ImagingSeries.id).where(
            ImagingSeries.series_uid.in_({h.series_uid for _, _, h in parsed})
        ),
    )
    known_sops = set(
        session.scalars(
            select(ImagingInstance.sop_uid).where(
                ImagingInstance.sop_uid.in_({h.sop_uid for _, _, h in parsed})
            )
        )
    )

    new_studies: dict[str, dict[str, object]] = {}
    new_series: dict[str, dict[str, object]] = {}
    new_instances: list[dict[str, object]] = []
    acquired: dict[int, datetime] = {}
    for incoming, data, header in parsed:
        if header.sop_uid in known_sops:
            tally.duplicates += 1
            continue
        order = orders.get(header.accession_number or "")
        resident_id = patient_residents.get(header.patient_id)
        if order is not None and resident_id not in (None, order.resident_id):
            refused.append(
                (
                    incoming,
                    data,
                    f"检查号{header.accession_number}属于另一位居民，与影像中的患者ID不符",
                    f"accession {header.accession_number} belongs to another resident than PatientID",
                    header,
                )
            )
            continue
        if order is None and resident_id is not None:
            order = open_orders.get((resident_id, header.modality))
        resident_id = order.resident_id if order is not None else resident_id
        if resident_id is None:
            refused.append(
                (
                    incoming,
                    data,
                    f"患者ID“{header.patient_id}”找不到对应居民（应为身份证号或健康卡号），检查号也不匹配",
                    f"PatientID '{header.patient_id}' matches no resident and the accession number no order",
                    header,
                )
            )
            continue
        existing = studies.get(header.study_uid)
        if existing is not None and existing.resident_id != resident_id:
            refused.append(
                (
                    incoming,
                    data,
                    "该检查已归档在另一位居民名下",
                    "the study is filed under another resident",
                    header,
                )
            )
            continue
        if existing is None and header.study_uid not in new_studies:
            new_studies[header.study_uid] = {
                "study_uid": header.study_uid,
                "order_id": order.id if order else None,
                "resident_id": resident_id,
                "accession_number": header.accession_number,
                "patient_id": header.patient_id,
                "modality": header.modality,
                "study_at": header.study_at,
                "description": header.study_description,
                "source_institution": header.institution_name,
                "received_at": now,
            }
        elif new_studies.get(header.study_uid, {}).get("resident_id", resident_id) != resident_id:
            refused.append(
                (
                    incoming,
                    data,
                    "同一检查中的患者不一致",
                    "instances of one study name different patients",
                    header,
                )
            )
            continue
        if header.series_uid not in series_ids and header.series_uid not in new_series:
            new_series[header.series_uid] = {
                "study_uid": header.study_uid,
                "series_uid": header.series_uid,
                "modality": header.modality,
                "number": header.series_number,
                "description": header.series_description,
                "body_part": header.body_part,
            }
        relative, size = store.put_instance(incoming, data)
        new_instances.append(
            {
                "series_uid": header.series_uid,
                "sop_uid": header.sop_uid,
                "sop_class_uid": header.sop_class_uid,
                "number": header.instance_number,
                "path": relative,
                "size_bytes": size,
            }
        )
        known_sops.add(header.sop_uid)
        if order is not None and order.status == rules.ORDERED:
            taken = min(header.study_at or now, now)
            acquired[order.id] = min(acquired.get(order.id, taken), taken)

    if new_studies:
        created = session.execute(
            insert(ImagingStudy).returning(
                ImagingStudy.study_uid, ImagingStudy.id, sort_by_parameter_order=True
            ),
            list(new_studies.values()),
        )
        study_ids = {**{uid: s.id for uid, s in studies.items()}, **dict(created.all())}
        tally.studies += len(new_studies)
    else:
        study_ids = {uid: s.id for uid, s in studies.items()}
    if new_series:
        rows = [
            {**{k: v for k, v in s.items() if k != "study_uid"}, "study_id": study_ids[str(s["study_uid"])]}
            for s in new_series.values()
        ]
        created_series = session.execute(
            insert(ImagingSeries).returning(
                ImagingSeries.series_uid, ImagingSeries.id, sort_by_parameter_order=True
            ),
            rows,
        )
        series_ids.update(dict(created_series.all()))
    if new_instances:
        session.execute(
            insert(ImagingInstance),
            [
                {
                    **{k: v for k, v in i.items() if k != "series_uid"},
                    "series_id": series_ids[str(i["series_uid"])],
                }
                for i in new_instances
            ],
        )
        tally.filed += len(new_instances)
    if acquired:
        session.execute(
            update(ORDER_TABLE)
            .where(ORDER_TABLE.c.id == bindparam("order_id"), ORDER_TABLE.c.status == rules.ORDERED)
            .values(status=rules.ACQUIRED, acquired_at=bindparam("taken"), received_at=now),
            [{"order_id": order_id, "taken": taken} for order_id, taken in acquired.items()],
        )
        session.execute(
            insert(ExamOrderEvent),
            [
                {
                    "order_id": order_id,
                    "at": now,
                    "from_status": rules.ORDERED,
                    "to_status": rules.ACQUIRED,
                    "user_id": actor.subject.user_id,
                    "note": "DICOM影像已接收",
                }
                for order_id in acquired
            ],
        )
        for order in orders.values():
            if order.id in acquired:
                session.expire(order)
        tally.orders_acquired += len(acquired)
    for study in new_studies.values():
        actor.record_change(
            session,
            action="file_dicom",
            entity="imaging_study",
            entity_id=study["study_uid"],
            resident_id=int(str(study["resident_id"])),
        )
    for incoming, data, reason_zh, reason_en, refused_header in refused:
        relative = store.put_quarantined(incoming, data, now)
        row = DicomQuarantine(
            path=relative,
            original_name=incoming.name[:200],
            reason_zh=reason_zh,
            reason_en=reason_en,
            patient_id=refused_header.patient_id if refused_header else None,
            study_uid=refused_header.study_uid if refused_header else None,
            accession_number=refused_header.accession_number if refused_header else None,
            received_at=now,
            received_by=actor.subject.user_id,
        )
        session.add(row)
        session.flush()
        tally.quarantine_ids.append(row.id)
    session.flush()
