"""FHIR R4 rules of the platform, pure: identifier systems, how a foreign patient gets a resident
ID, OperationOutcome, search parameters and references."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from yilian.auth.rules import Subject
from yilian.kit.id_numbers import make_id_number

# The Chinese resident ID card number (GB 11643) and the platform's own numbers. URNs, so they do not
# depend on where a deployment is hosted; a province can map them to national OIDs at its gateway.
ID_CARD_SYSTEM = "urn:yilian:sid:cn-resident-id"
HEALTH_CARD_SYSTEM = "urn:yilian:sid:health-card"
INSTITUTION_SYSTEM = "urn:yilian:sid:institution"
DERIVED_ID_SYSTEM = "urn:yilian:sid:derived-resident-id"  # marks an ID number derived at import
# The 居民身份证 number's OID in the Chinese interoperability standards (WS 364 / 卫生信息数据元):
# real ID numbers are also given under it, so a regional platform matches them; derived ones never.
NATIONAL_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
ID_CARD_SYSTEMS = (ID_CARD_SYSTEM, NATIONAL_ID_SYSTEM)
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
IDENTIFIER_TYPE_SYSTEM = "urn:yilian:sid:identifier-type"
NATIONAL_ID_TYPE = {
    "coding": [{"system": V2_0203, "code": "NNCHN", "display": "National Person Identifier (China)"}],
    "text": "居民身份证号",
}
# A number the platform made for a patient sent without one: a resource identifier, not a national one.
DERIVED_ID_TYPE = {
    "coding": [
        {"system": V2_0203, "code": "RI", "display": "Resource identifier"},
        {"system": IDENTIFIER_TYPE_SYSTEM, "code": "derived-resident-id", "display": "平台派生的身份证号"},
    ],
    "text": "平台派生号码（非居民身份证）",
}
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
FHIR_JSON = "application/fhir+json"
CST = timezone(timedelta(hours=8))

# Types the platform serves and what a client may do with each.
NATIVE_READ = (
    "Patient",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "CareTeam",
    "Schedule",
    "Slot",
    "Appointment",
    "ServiceRequest",
    "DiagnosticReport",
    "ImagingStudy",
    "Observation",
    "CarePlan",
    "Claim",
    "MeasureReport",
    "Encounter",
)
# Kept as FHIR JSON when created or imported (their own searchable columns, no platform table).
STORED = (
    "Practitioner",
    "Condition",
    "Procedure",
    "Immunization",
    "MedicationRequest",
    "ExplanationOfBenefit",
    "AllergyIntolerance",
    "CarePlan",
    "Claim",
    "DiagnosticReport",
    "ImagingStudy",
    "ServiceRequest",
    "PractitionerRole",
    "CareTeam",
    "Schedule",
)
SUPPORTED = tuple(dict.fromkeys(NATIVE_READ + STORED))
# Created into the platform's own tables (residents, institutions, encounters, observations, bookings).
PROJECTED = ("Patient", "Organization", "Encounter", "Observation", "Appointment")
STORED_PREFIX = "s"  # ids of resources kept as FHIR: "s17", never a number, so they cannot meet a native id


class FhirError(Exception):
    """An error to answer with an OperationOutcome (`status` is the HTTP status)."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: list[str] | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.issues = [issue("error", code, diagnostics, expression)]

    @classmethod
    def many(cls, status: int, issues: list[dict[str, Any]]) -> FhirError:
        error = cls(status, "invalid", issues[0]["diagnostics"] if issues else "")
        error.issues = issues
        return error


def issue(severity: str, code: str, diagnostics: str, expression: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = expression
    return out


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


def source_owner(subject: Subject) -> str:
    """Whose imports a source id is matched among: the account's institution, consortium or county
    (every account of a hospital feeds the same source), else the account."""
    if subject.institution_id:
        return f"institution:{subject.institution_id}"
    if subject.consortium_id:
        return f"consortium:{subject.consortium_id}"
    if subject.region_code:
        return f"region:{subject.region_code}"
    return f"user:{subject.user_id}"


FOREIGN_CODE = re.compile(r"X[0-9a-f]{20}")


def foreign_code(system: str, code: str) -> str:
    """The institution code of another system's Organization (its identifier hashed): a provider
    outside the platform, whose visits come only from imported history."""
    return "X" + hashlib.sha1(f"{system}|{code}".encode()).hexdigest()[:20]


def is_foreign_code(code: str) -> bool:
    return FOREIGN_CODE.fullmatch(code) is not None


def derived_id_number(*, region_code: str, born: date, sex: str, source_key: str, attempt: int = 0) -> str:
    """A resident ID for a patient from another system that has none (Synthea's, a foreign
    hospital's): the county's region code, the real birth date, a sequence from a hash of the
    source id with the parity of the sex, and the GB 11643 check digit. The same source id gives the
    same number on every import; `attempt` moves to the next sequence on a collision."""
    seed = int(hashlib.sha256(source_key.encode()).hexdigest(), 16)
    sequence = (seed + attempt * 2) % 500  # make_id_number fixes the parity from the sex
    return make_id_number(region_code, born, sequence, sex)


@dataclass(frozen=True)
class DateBound:
    low: datetime | None
    high: datetime | None  # exclusive


PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def parse_date_param(value: str) -> DateBound:
    """`date=ge2020-01-01`, `date=2020-05` (the whole month), `date=lt2021` …: an interval."""
    prefix = value[:2] if value[:2] in PREFIXES else "eq"
    text = value[2:] if value[:2] in PREFIXES else value
    if prefix in ("ne", "sa", "eb", "ap"):
        raise FhirError(400, "not-supported", f"date prefix '{prefix}' is not supported")
    try:
        if re.fullmatch(r"\d{4}", text):
            start, end = datetime(int(text), 1, 1), datetime(int(text) + 1, 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = map(int, text.split("-"))
            start = datetime(year, month, 1)
            end = datetime(year + month // 12, month % 12 + 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            start = datetime.combine(date.fromisoformat(text), time.min)
            end = start + timedelta(days=1)
        else:
            start = datetime.fromisoformat(text.replace("Z", "+00:00"))
            # Times are kept as China Standard Time: an instant with another offset is moved to it.
            start = start.astimezone(CST).replace(tzinfo=None) if start.tzinfo else start
            # The value's precision is the interval: a second, or less with fractional seconds.
            end = start + (timedelta(microseconds=1) if "." in text else timedelta(seconds=1))
    except (ValueError, OverflowError):  # the day after 9999-12-31 overflows
        raise FhirError(400, "invalid", f"'{value}' is not a FHIR date") from None
    return {
        "eq": DateBound(start, end),
        "ge": DateBound(start, None),
        "gt": DateBound(end, None),
        "le": DateBound(None, end),
        "lt": DateBound(None, start),
    }[prefix]


def reference_id(reference: str | None, resource_type: str) -> str | None:
    """`Patient/12` → "12"; a reference to another type, or an absolute URL, is not ours."""
    if not reference:
        return None
    kind, _, ident = reference.rpartition("/")
    if kind != resource_type or not ident:
        return None
    return ident


def row_key(ident: str | None) -> int | None:
    """The platform key a FHIR id names: ASCII digits that fit a 64-bit column, else None. (`isdigit`
    alone also accepts "²", which int() refuses, and any length, which the database refuses.)"""
    if not ident or not ident.isascii() or not ident.isdigit() or len(ident) > 19:
        return None
    key = int(ident)
    return key if key <= 2**63 - 1 else None


def fhir_instant(value: datetime | None) -> str | None:
    """Times are kept as China Standard Time without a zone; FHIR wants the offset."""
    return None if value is None else value.replace(microsecond=0).isoformat() + "+08:00"


def version_meta(version: int | None, updated_at: datetime | None) -> dict[str, str]:
    """A row's `meta.versionId` and `meta.lastUpdated` (milliseconds kept: two changes in one
    second are two instants)."""
    out = {"versionId": str(version or 1)}
    if updated_at is not None:
        out["lastUpdated"] = updated_at.isoformat(timespec="milliseconds") + "+08:00"
    return out


# Elements of a projected resource served as they were sent (the rest from the platform's row).
# References are not among them: the row's references are the ones that resolve for the reader.
AS_SENT: dict[str, tuple[str, ...]] = {
    "Patient": (
        "name",
        "telecom",
        "gender",
        "birthDate",
        "address",
        "maritalStatus",
        "multipleBirthBoolean",
        "multipleBirthInteger",
        "communication",
        "extension",
        "deceasedBoolean",
        "deceasedDateTime",
    ),
    # Not hospitalization, participant, location: they hold references.
    "Encounter": (
        "identifier",
        "status",
        "statusHistory",
        "class",
        "classHistory",
        "type",
        "serviceType",
        "priority",
        "period",
        "length",
        "reasonCode",
        "extension",
    ),
    "Observation": (
        "status",
        "category",
        "code",
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveInstant",
        "effectiveTiming",
        "issued",
        "valueQuantity",
        "valueCodeableConcept",
        "valueString",
        "valueBoolean",
        "valueInteger",
        "valueRange",
        "valueRatio",
        "valueSampledData",
        "valueTime",
        "valueDateTime",
        "valuePeriod",
        "dataAbsentReason",
        "interpretation",
        "note",
        "bodySite",
        "method",
        "referenceRange",
        "component",
        "extension",
    ),
}


def as_sent(resource: dict[str, Any], sent: dict[str, Any], elements: tuple[str, ...]) -> None:
    """Put the elements as they were sent in place of the projection's (an element the sender left
    out is left out: an Observation sent without effective[x] is served without it)."""
    for name in elements:
        if name in sent:
            resource[name] = sent[name]
        else:
            resource.pop(name, None)


def etag(version: str) -> str:
    return f'W/"{version}"'


def parse_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, "invalid", f"'{value}' is not a FHIR dateTime") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CST).replace(tzinfo=None)
    return parsed


def scope_allows(scopes: str, resource_type: str, mode: str) -> bool:
    """SMART-style scopes: `user/Patient.read`, `user/*.write`, `patient/*.read`, `user/*.*`.
    The context (user/patient/system) does not widen anything: what rows are visible is decided by
    the account's role and scope, as everywhere on the platform."""
    for scope in scopes.split():
        _, _, grant = scope.partition("/")
        kind, _, action = grant.partition(".")
        if kind in ("*", resource_type) and action in ("*", mode):
            return True
    return False


# --- formats ---------------------------------------------------------------------------------------

JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json", "application/json+fhir"})
_JSON_MEDIA = JSON_FORMATS | {"*/*", "application/*"}


def accepts_json(accept: str) -> bool:
    """Whether an Accept header admits JSON (any media range that covers it, q not 0)."""
    for part in accept.split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        if media.lower() in _JSON_MEDIA and not any(o.replace(" ", "") in ("q=0", "q=0.0") for o in options):
            return True
    return False


def prune(value: Any) -> Any:
    """The value without empty arrays, objects and strings (FHIR JSON forbids them), at any depth;
    a container that only held empties goes too."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                item = prune(item)
            if item is None or item == "" or item == [] or item == {}:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, (dict, list)):
                item = prune(item)
            if item is None or item == "" or item == [] or item == {}:
                continue
            kept.append(item)
        return kept
    return value


# --- search parameter types (R4's definitions of the names served) --------------------------------

_PARAM_TYPES = {
    "identifier": "token",
    "gender": "token",
    "status": "token",
    "code": "token",
    "category": "token",
    "class": "token",
    "name": "string",
    "birthdate": "date",
    "date": "date",
    "start": "date",
    "started": "date",
    "created": "date",
    "authored": "date",
    "period": "date",
}


def search_param_type(name: str) -> str:
    """A parameter's R4 type: the rest of what is served (organization, partof, practitioner,
    actor, schedule, slot, encounter, service-provider, patient, subject) are references."""
    return _PARAM_TYPES.get(name, "reference")


# --- required value sets ---------------------------------------------------------------------------

_REQUEST_STATUS = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
_EVENT_STATUS = (
    "preparation",
    "in-progress",
    "not-done",
    "on-hold",
    "stopped",
    "completed",
    "entered-in-error",
    "unknown",
)
_FM_STATUS = ("active", "cancelled", "draft", "entered-in-error")
_GENDER = ("male", "female", "other", "unknown")
# (type, element) → R4 codes of its required binding: what a code element coming in may hold.
REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    key: frozenset(codes)
    for key, codes in {
        ("Observation", "status"): (
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        ),
        ("Encounter", "status"): (
            "planned",
            "arrived",
            "triaged",
            "in-progress",
            "onleave",
            "finished",
            "cancelled",
            "entered-in-error",
            "unknown",
        ),
        ("Appointment", "status"): (
            "proposed",
            "pending",
            "booked",
            "arrived",
            "fulfilled",
            "cancelled",
            "noshow",
            "entered-in-error",
            "checked-in",
            "waitlist",
        ),
        ("DiagnosticReport", "status"): (
            "registered",
            "partial",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "appended",
            "cancelled",
            "entered-in-error",
            "unknown",
        ),
        ("ImagingStudy", "status"): ("registered", "available", "cancelled", "entered-in-error", "unknown"),
        ("Procedure", "status"): _EVENT_STATUS,
        ("Immunization", "status"): ("completed", "entered-in-error", "not-done"),
        ("MedicationRequest", "status"): (
            "active",
            "on-hold",
            "cancelled",
            "completed",
            "entered-in-error",
            "stopped",
            "draft",
            "unknown",
        ),
        ("MedicationRequest", "intent"): (
            "proposal",
            "plan",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        ),
        ("ServiceRequest", "status"): _REQUEST_STATUS,
        ("ServiceRequest", "intent"): (
            "proposal",
            "plan",
            "directive",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        ),
        ("CarePlan", "status"): _REQUEST_STATUS,
        ("CarePlan", "intent"): ("proposal", "plan", "order", "option"),
        ("CareTeam", "status"): ("proposed", "active", "suspended", "inactive", "entered-in-error"),
        ("Claim", "status"): _FM_STATUS,
        ("Claim", "use"): ("claim", "preauthorization", "predetermination"),
        ("ExplanationOfBenefit", "status"): _FM_STATUS,
        ("ExplanationOfBenefit", "use"): ("claim", "preauthorization", "predetermination"),
        ("ExplanationOfBenefit", "outcome"): ("queued", "complete", "error", "partial"),
        ("AllergyIntolerance", "type"): ("allergy", "intolerance"),
        ("AllergyIntolerance", "criticality"): ("low", "high", "unable-to-assess"),
        ("Patient", "gender"): _GENDER,
        ("Practitioner", "gender"): _GENDER,
    }.items()
}


def code_problems(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, message) for each top-level code element outside its required R4 value set."""
    resource_type = resource.get("resourceType")
    out = []
    for (kind, element), codes in REQUIRED_CODES.items():
        if kind != resource_type or element not in resource:
            continue
        value = resource[element]
        if value not in codes:
            out.append(
                (
                    f"{kind}.{element}",
                    f"'{value}' is not a code of {kind}.{element}'s required value set ({', '.join(sorted(codes))})",
                )
            )
    return out
