"""FHIR R4 (4.0.1) validation with the fhirclient package's models: every resource that comes in,
and (in tests) every one that goes out, must parse strictly — unknown elements, wrong types and
missing required elements are refused with the paths named."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from fhirclient.models.fhirabstractbase import FHIRValidationError

from yilian.fhir.rules import FhirError, issue


@cache
def model_of(resource_type: str) -> Any:
    try:
        module = importlib.import_module(f"fhirclient.models.{resource_type.lower()}")
        return getattr(module, resource_type)
    except (ImportError, AttributeError):
        return None


def _paths(error: Exception, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten fhirclient's nested errors into (path, message) pairs."""
    if isinstance(error, FHIRValidationError):
        here = f"{prefix}.{error.path}" if prefix and error.path else (error.path or prefix)
        out: list[tuple[str, str]] = []
        for inner in error.errors:
            out.extend(_paths(inner, here))
        return out or [(here, str(error))]
    return [(prefix, str(error).splitlines()[0])]


def validate(resource: Any, expected_type: str | None = None) -> dict[str, Any]:
    """The resource if it is valid R4 JSON of a type we serve; FhirError (OperationOutcome) if not."""
    if not isinstance(resource, dict):
        raise FhirError(400, "structure", "the body is not a JSON object")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or model_of(resource_type) is None:
        raise FhirError(400, "not-supported", f"unknown resource type '{resource_type}'", ["resourceType"])
    if expected_type and resource_type != expected_type:
        raise FhirError(400, "invalid", f"expected {expected_type}, got {resource_type}", ["resourceType"])
    try:
        model_of(resource_type)(resource, strict=True)
    except FHIRValidationError as error:
        problems = _paths(error)
        raise FhirError.many(
            400,
            [
                issue("error", "structure", message, [f"{resource_type}.{path}" if path else resource_type])
                for path, message in problems[:50]
            ],
        ) from None
    return resource
