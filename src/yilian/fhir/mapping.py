"""The platform's rows as FHIR R4 resources. Pure functions of plain rows: no queries here."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from yilian.fhir.rules import (
    DERIVED_ID_SYSTEM,
    DERIVED_ID_TYPE,
    HEALTH_CARD_SYSTEM,
    ICD10_SYSTEM,
    ID_CARD_SYSTEM,
    INSTITUTION_SYSTEM,
    NATIONAL_ID_SYSTEM,
    NATIONAL_ID_TYPE,
    fhir_instant,
)
from yilian.kit.money import yuan_figure
from yilian.models import (
    Booking,
    ChronicRegister,
    Claim,
    ClinicalObservation,
    Encounter,
    ExamOrder,
    ExamReport,
    FamilyDoctorTeam,
    ImagingStudy,
    Institution,
    Referral,
    Resident,
    Schedule,
    Slot,
    Staff,
)

CJK_NAME = re.compile(r"[\u3400-\u9fff·]+")
GENDER = {"M": "male", "F": "female"}
SEX = {v: k for k, v in GENDER.items()}
BOOKING_STATUS = {"booked": "booked", "cancelled": "cancelled", "checked_in": "arrived", "no_show": "noshow"}
REFERRAL_STATUS = {
    "requested": "active",
    "accepted": "active",
    "arrived": "active",
    "rejected": "revoked",
    "completed": "completed",
    "followed_up": "completed",
    "cancelled": "revoked",
}
ORDER_STATUS = {"ordered": "active", "acquired": "active", "reported": "completed", "cancelled": "revoked"}
DISEASE_NAMES = {"hypertension": "高血压", "diabetes": "2型糖尿病", "hyperlipidaemia": "高脂血症"}
DISEASE_CODES = {"hypertension": "I10", "diabetes": "E11", "hyperlipidaemia": "E78.5"}


def ref(resource_type: str, ident: object) -> dict[str, str]:
    return {"reference": f"{resource_type}/{ident}"}


def site(code: str, name: str) -> dict[str, Any]:
    """Where a schedule or appointment takes place, for elements R4 does not let name an
    Organization (Schedule.actor, Appointment.participant.actor): the institution as a Location,
    by identifier (a logical reference, as no Location is served) and display."""
    return {"type": "Location", "identifier": {"system": INSTITUTION_SYSTEM, "value": code}, "display": name}


def patient(
    resident: Resident,
    *,
    identifiers: tuple[tuple[str, str], ...] = (),
    organization_id: int | None = None,
    full_ids: bool = True,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(resident.id),
        "identifier": [
            *_id_numbers(resident.id_number, identifiers, full_ids),
            {"system": HEALTH_CARD_SYSTEM, "value": resident.health_card_no},
            *(
                {"system": s, "value": v, **({"type": DERIVED_ID_TYPE} if s == DERIVED_ID_SYSTEM else {})}
                for s, v in identifiers
            ),
        ],
        "active": resident.status == "active",
        "name": [human_name(resident.name)],
        "gender": GENDER.get(resident.sex, "unknown"),
        "birthDate": resident.birth_date.isoformat(),
    }
    if resident.phone:
        out["telecom"] = [
            {
                "system": "phone",
                "value": resident.phone if full_ids else resident.phone[:3] + "****" + resident.phone[-4:],
                "use": "mobile",
            }
        ]
    if resident.address:
        out["address"] = [{"text": resident.address, "district": resident.region_code}]
    if organization_id:
        out["managingOrganization"] = ref("Organization", organization_id)
    if resident.status == "merged" and resident.merged_into_id:
        out["link"] = [{"other": ref("Patient", resident.merged_into_id), "type": "replaced-by"}]
    return out


def _id_numbers(
    id_number: str, identifiers: tuple[tuple[str, str], ...], full_ids: bool
) -> list[dict[str, Any]]:
    """The resident's ID number under the platform's system and, when it is a real 居民身份证 number,
    also under the national OID with type NNCHN; a number derived at import is typed as such and
    never given the national OID (a regional platform must not match on it)."""
    value = id_number if full_ids else id_number[:6] + "********" + id_number[-4:]
    if (DERIVED_ID_SYSTEM, id_number) in identifiers:
        return [{"type": DERIVED_ID_TYPE, "system": ID_CARD_SYSTEM, "value": value}]
    return [
        {"type": NATIONAL_ID_TYPE, "system": ID_CARD_SYSTEM, "value": value},
        {"use": "official", "type": NATIONAL_ID_TYPE, "system": NATIONAL_ID_SYSTEM, "value": value},
    ]


def human_name(name: str) -> dict[str, Any]:
    """A name the platform holds as one string: split as a Chinese name (one-character surname
    first) only when it is written in Chinese; any other is given as text alone."""
    if not CJK_NAME.fullmatch(name) or len(name) < 2:
        return {"text": name}
    return {"text": name, "family": name[:1], "given": [name[1:]]}


def organization(institution: Institution) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(institution.id),
        "identifier": [{"system": INSTITUTION_SYSTEM, "value": institution.code}],
        "active": institution.is_active,
        "type": [{"text": institution.type}],
        "name": institution.name,
        "address": [{"district": institution.region_code}],
    }
    if institution.parent_id:
        out["partOf"] = ref("Organization", institution.parent_id)
    return out


def practitioner(staff: Staff) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": str(staff.id),
        "identifier": [{"system": "urn:yilian:sid:staff", "value": staff.code}],
        "active": True,
        "name": [{"text": staff.name}],
        "gender": GENDER.get(staff.sex, "unknown"),
        "qualification": [{"code": {"text": staff.practitioner_type}}],
    }


def practitioner_role(staff: Staff) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "id": str(staff.id),
        "active": True,
        "practitioner": ref("Practitioner", staff.id),
        "organization": ref("Organization", staff.home_institution_id),
        "code": [{"text": staff.title or staff.practitioner_type}],
        "specialty": [{"text": staff.specialty}] if staff.specialty else [],
    }


def care_team(team: FamilyDoctorTeam, members: list[tuple[int, str, str]]) -> dict[str, Any]:
    """A family-doctor team (家庭医生团队): members with their role in the team."""
    return {
        "resourceType": "CareTeam",
        "id": str(team.id),
        "status": "active" if team.is_active else "inactive",
        "category": [{"text": "家庭医生团队"}],
        "name": team.name,
        "participant": [
            {"role": [{"text": role}], "member": {**ref("Practitioner", staff_id), "display": name}}
            for staff_id, name, role in members
        ],
        "managingOrganization": [ref("Organization", team.institution_id)],
    }


def schedule(row: Schedule, institution: tuple[str, str]) -> dict[str, Any]:
    """`institution` is the schedule's institution (code, name)."""
    actors: list[dict[str, Any]] = [site(*institution)]
    if row.staff_id:
        actors.append(ref("Practitioner", row.staff_id))
    return {
        "resourceType": "Schedule",
        "id": str(row.id),
        "active": row.is_active,
        "serviceType": [
            {"text": {"clinic": "门诊", "exam": "检查", "bed": "住院床位"}.get(row.kind, row.kind)}
        ],
        "actor": actors,
        "comment": row.name if not row.equipment else f"{row.name}（{row.equipment}）",
    }


def slot(row: Slot) -> dict[str, Any]:
    full = row.booked >= row.capacity
    return {
        "resourceType": "Slot",
        "id": str(row.id),
        "schedule": ref("Schedule", row.schedule_id),
        "status": "busy" if full else "free",
        "start": fhir_instant(row.starts_at),
        "end": fhir_instant(row.ends_at),
        "comment": {"public": "公共号源", "reserved": "基层预留号源", "extra": "当日加号"}.get(
            row.pool, row.pool
        ),
    }


def appointment(booking: Booking, slot_row: Slot, institution: tuple[str, str]) -> dict[str, Any]:
    """`institution` is the slot's institution (code, name)."""
    return {
        "resourceType": "Appointment",
        "id": str(booking.id),
        "status": BOOKING_STATUS.get(booking.status, "booked"),
        "slot": [ref("Slot", slot_row.id)],
        "start": fhir_instant(slot_row.starts_at),
        "end": fhir_instant(slot_row.ends_at),
        "created": fhir_instant(booking.created_at),
        "participant": [
            {"actor": ref("Patient", booking.resident_id), "status": "accepted"},
            {"actor": site(*institution), "status": "accepted"},
        ],
    }


def service_request_of_referral(referral: Referral) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": f"referral-{referral.id}",
        "status": REFERRAL_STATUS.get(referral.status, "unknown"),
        "intent": "order",
        "category": [{"text": "上转" if referral.direction == "up" else "下转"}],
        "code": {"text": "双向转诊"},
        "subject": ref("Patient", referral.resident_id),
        "authoredOn": fhir_instant(referral.requested_at),
        "requester": ref("Organization", referral.from_institution_id),
        "performer": [ref("Organization", referral.to_institution_id)],
        "reasonCode": [
            {"coding": [{"system": ICD10_SYSTEM, "code": c}]} for c in referral.diagnoses.split(",") if c
        ],
        "note": [{"text": referral.summary}],
    }


def service_request_of_order(order: ExamOrder, host_institution_id: int) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": f"exam-{order.id}",
        "identifier": [{"system": "urn:yilian:sid:accession", "value": order.accession_number}],
        "status": ORDER_STATUS.get(order.status, "unknown"),
        "intent": "order",
        "priority": {0: "stat", 1: "urgent", 2: "routine"}.get(order.priority, "routine"),
        "category": [{"text": "检查检验"}],
        "code": {
            "coding": [
                {
                    "system": "urn:yilian:sid:recognition-item",
                    "code": order.item_code,
                    "display": order.item_name,
                }
            ]
        },
        "subject": ref("Patient", order.resident_id),
        "authoredOn": fhir_instant(order.ordered_at),
        "requester": ref("Organization", order.ordering_institution_id),
        "performer": [ref("Organization", host_institution_id)],
    }


def diagnostic_report(order: ExamOrder, report: ExamReport) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": str(report.id),
        "status": "final",
        "category": [{"text": order.modality}],
        "code": {
            "coding": [
                {
                    "system": "urn:yilian:sid:recognition-item",
                    "code": order.item_code,
                    "display": order.item_name,
                }
            ]
        },
        "subject": ref("Patient", order.resident_id),
        "basedOn": [ref("ServiceRequest", f"exam-{order.id}")],
        "effectiveDateTime": fhir_instant(order.acquired_at or order.ordered_at),
        "issued": fhir_instant(report.reported_at),
        "performer": [ref("Organization", report.reader_institution_id)],
        "conclusion": report.impression,
        "presentedForm": [
            {"contentType": "text/plain", "title": "检查所见", "data": _base64(report.findings)}
        ],
    }


def _base64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def imaging_study(study: ImagingStudy, series: int, instances: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": str(study.id),
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study.study_uid}"}],
        "status": "available",
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": study.modality}],
        "subject": ref("Patient", study.resident_id),
        "numberOfSeries": series,
        "numberOfInstances": instances,
        "description": study.description or None,
    }
    if study.study_at:
        out["started"] = fhir_instant(study.study_at)
    if study.order_id:
        out["basedOn"] = [ref("ServiceRequest", f"exam-{study.order_id}")]
    return {k: v for k, v in out.items() if v is not None}


def observation(row: ClinicalObservation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(row.id),
        "status": row.status,
        "code": {
            "coding": [{"system": row.code_system, "code": row.code, "display": row.display}],
            "text": row.display,
        },
        "subject": ref("Patient", row.resident_id),
        "effectiveDateTime": fhir_instant(row.effective_at),
    }
    if row.category:
        out["category"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": row.category,
                    }
                ]
            }
        ]
    if row.encounter_id:
        out["encounter"] = ref("Encounter", row.encounter_id)
    if row.value_num is not None:
        out["valueQuantity"] = {
            "value": row.value_num,
            "unit": row.unit,
            "system": "http://unitsofmeasure.org",
            "code": row.unit,
        }
        out["valueQuantity"] = {k: v for k, v in out["valueQuantity"].items() if v is not None}
    elif row.value_text is not None:
        out["valueString"] = row.value_text
    if row.components_json:
        out["component"] = json.loads(row.components_json)
    return out


def care_plan(register: ChronicRegister) -> dict[str, Any]:
    """A chronic-care plan (三高): its colour and the next follow-up."""
    out: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(register.id),
        "status": "active",
        "intent": "plan",
        "category": [{"text": "慢病管理"}],
        "title": f"{DISEASE_NAMES.get(register.disease, register.disease)}管理（{ {'green': '绿标', 'yellow': '黄标', 'red': '红标'}.get(register.colour or '', '未分级') }）",
        "subject": ref("Patient", register.resident_id),
        "period": {"start": register.registered_on.isoformat()},
        "description": f"ICD-10 {DISEASE_CODES.get(register.disease, '')}",
    }
    if register.next_due_on:
        out["activity"] = [
            {
                "detail": {
                    "status": "scheduled",
                    "kind": "Appointment",
                    "description": "随访",
                    "scheduledString": register.next_due_on.isoformat(),
                }
            }
        ]
    return out


def claim(row: Claim) -> dict[str, Any]:
    return {
        "resourceType": "Claim",
        "id": str(row.id),
        "identifier": [{"system": "urn:yilian:sid:claim", "value": row.claim_no}],
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "institutional" if row.kind == "inpatient" else "professional",
                }
            ]
        },
        "use": "claim",
        "patient": ref("Patient", row.resident_id),
        "created": row.settled_on.isoformat(),
        "provider": ref("Organization", row.institution_id)
        if row.institution_id
        else {"display": row.provider_name or ""},
        "priority": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]
        },
        "insurance": [
            {"sequence": 1, "focal": True, "coverage": {"display": f"参保地 {row.insured_region_code}"}}
        ],
        "total": {"value": yuan_figure(row.total_fen), "currency": "CNY"},
    }


def encounter(row: Encounter, diagnoses: list[str]) -> dict[str, Any]:
    inpatient = row.kind == "inpatient"
    period: dict[str, str] = {"start": row.start_date.isoformat()}
    if row.end_date:
        period["end"] = row.end_date.isoformat()
    return {
        "resourceType": "Encounter",
        "id": str(row.id),
        "status": "finished" if (not inpatient or row.end_date) else "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP" if inpatient else "AMB",
            "display": "住院" if inpatient else "门诊",
        },
        "subject": ref("Patient", row.resident_id),
        "period": period,
        "serviceProvider": ref("Organization", row.institution_id),
        "reasonCode": [{"coding": [{"system": ICD10_SYSTEM, "code": c}]} for c in diagnoses],
    }


def measure_report(
    code: str,
    name: str,
    unit_name: str,
    period: tuple[date, date],
    numerator: int,
    denominator: int,
    ident: str,
) -> dict[str, Any]:
    return {
        "resourceType": "MeasureReport",
        "id": ident,
        "status": "complete",
        "type": "summary",
        "measure": f"urn:yilian:measure:{code}",
        "date": period[1].isoformat(),
        "period": {"start": period[0].isoformat(), "end": period[1].isoformat()},
        "reporter": {"display": unit_name},
        "group": [
            {
                "code": {"text": name},
                "population": [
                    {
                        "code": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/measure-population",
                                    "code": "numerator",
                                }
                            ]
                        },
                        "count": numerator,
                    },
                    {
                        "code": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/measure-population",
                                    "code": "denominator",
                                }
                            ]
                        },
                        "count": denominator,
                    },
                ],
                "measureScore": {
                    "value": round(100 * numerator / denominator, 2) if denominator else 0,
                    "unit": "%",
                },
            }
        ],
    }
