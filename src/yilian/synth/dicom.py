"""Real DICOM Part-10 files made with pydicom, for tests, the demo county and the ingest benchmark."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

# Digital X-ray for presentation, CT image storage, ultrasound image storage.
SOP_CLASSES = {
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
}


def new_uid() -> str:
    return str(generate_uid())


def dicom_instance(
    *,
    patient_id: str,
    patient_name: str = "",
    accession_number: str = "",
    study_uid: str,
    series_uid: str,
    sop_uid: str | None = None,
    modality: str = "DX",
    study_at: datetime | None = None,
    instance_number: int = 1,
    institution_name: str = "",
    body_part: str = "CHEST",
    size: int = 32,
) -> bytes:
    """One image instance with a small monochrome pixel matrix (`size`²): a valid file any PACS accepts."""
    sop_uid = sop_uid or new_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(SOP_CLASSES[modality])
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SOP_CLASSES[modality]
    ds.SOPInstanceUID = sop_uid
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.AccessionNumber = accession_number
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.InstitutionName = institution_name
    ds.BodyPartExamined = body_part
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance_number
    ds.StudyID = "1"
    at = study_at or datetime(2026, 11, 24, 9, 0)
    ds.StudyDate = f"{at:%Y%m%d}"
    ds.StudyTime = f"{at:%H%M%S}"
    ds.StudyDescription = f"{modality} {body_part}"
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes((x * 7 + y * 3) % 256 for y in range(size) for x in range(size))
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
