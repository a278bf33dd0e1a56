"""Reading a DICOM file's header with pydicom: what the centre indexes, or why the file is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

# Only these tags are parsed: indexing 10,000 instances must not decode pixel data or private tags.
WANTED = [
    "PatientID",
    "PatientName",
    "AccessionNumber",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyDescription",
    "InstitutionName",
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "BodyPartExamined",
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
]
REQUIRED = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "PatientID", "Modality")
UID_TAGS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
# PS3.5 9.1: digits in components separated by dots, at most 64 characters. Leading zeros in a
# component break the standard too, but modalities in the field send them and they are harmless.
UID_GRAMMAR = re.compile(r"[0-9]+(?:\.[0-9]+)*")
UID_MAX = 64


class BadDicom(Exception):
    def __init__(self, reason_zh: str, reason_en: str):
        super().__init__(reason_en)
        self.reason_zh = reason_zh
        self.reason_en = reason_en


@dataclass(frozen=True)
class DicomHeader:
    patient_id: str
    patient_name: str
    accession_number: str | None
    study_uid: str
    study_at: datetime | None
    study_description: str
    institution_name: str
    modality: str
    series_uid: str
    series_number: int | None
    series_description: str
    body_part: str
    sop_class_uid: str
    sop_uid: str
    instance_number: int | None


def _text(value: object, limit: int) -> str:
    return str(value if value is not None else "").strip()[:limit]


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _study_at(study_date: object, study_time: object) -> datetime | None:
    day = _text(study_date, 8)
    if len(day) != 8 or not day.isdigit():
        return None
    clock = (_text(study_time, 16).split(".")[0] + "000000")[:6]
    try:
        return datetime.strptime(day + (clock if clock.isdigit() else "000000"), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def check_uid(tag: str, value: object) -> str:
    """The UID as the file carries it, whole (never cut to fit), or BadDicom naming the tag."""
    uid = str(value).rstrip("\x00").strip()
    if len(uid) > UID_MAX or not UID_GRAMMAR.fullmatch(uid):
        shown = repr(uid[:80])
        raise BadDicom(
            f"{tag}不是有效的DICOM UID（只能由数字和点组成，最长{UID_MAX}个字符）：{shown}",
            f"{tag} is not a valid DICOM UID (digits and dots, at most {UID_MAX} characters): {shown}",
        )
    return uid


def read_header(source: bytes | Path) -> DicomHeader:
    """The header of one Part-10 file; BadDicom says in Chinese and English why it cannot be filed."""
    try:
        stream = BytesIO(source) if isinstance(source, bytes) else source
        data = pydicom.dcmread(stream, stop_before_pixels=True, specific_tags=WANTED)
    except InvalidDicomError:
        raise BadDicom("不是DICOM文件（缺少DICM文件头）", "not a DICOM file (no DICM preamble)") from None
    except Exception as error:  # pydicom raises many kinds on a truncated or damaged file
        raise BadDicom(
            f"DICOM文件已损坏，无法读取：{type(error).__name__}",
            f"corrupt DICOM file: {type(error).__name__}: {error}",
        ) from None
    missing = [tag for tag in REQUIRED if not _text(data.get(tag), 64)]
    if missing:
        raise BadDicom(
            f"DICOM文件缺少必需的标签：{', '.join(missing)}", f"missing required tags: {', '.join(missing)}"
        )
    uids = {tag: check_uid(tag, data.get(tag)) for tag in UID_TAGS}
    return DicomHeader(
        patient_id=_text(data.get("PatientID"), 64),
        patient_name=_text(data.get("PatientName"), 64),
        accession_number=_text(data.get("AccessionNumber"), 16) or None,
        study_uid=uids["StudyInstanceUID"],
        study_at=_study_at(data.get("StudyDate"), data.get("StudyTime")),
        study_description=_text(data.get("StudyDescription"), 64),
        institution_name=_text(data.get("InstitutionName"), 64),
        modality=_text(data.get("Modality"), 8),
        series_uid=uids["SeriesInstanceUID"],
        series_number=_int(data.get("SeriesNumber")),
        series_description=_text(data.get("SeriesDescription"), 64),
        body_part=_text(data.get("BodyPartExamined"), 32),
        sop_class_uid=uids["SOPClassUID"],
        sop_uid=uids["SOPInstanceUID"],
        instance_number=_int(data.get("InstanceNumber")),
    )
