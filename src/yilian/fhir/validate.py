"""FHIR R4 (4.0.1) validation with the fhirclient package's models: every resource that comes in,
and (in tests) every one that goes out, must parse strictly — unknown elements, wrong types and
missing required elements are refused with the paths named.

Building fhirclient's objects costs ~0.1 ms per resource, half an import's time. So a resource is
first checked against the same models' element tables (`elementProperties()`, read once per class)
without building anything; only one that does not pass that check goes through fhirclient, which
then gives the verdict and names the paths. The check accepts nothing fhirclient refuses (a test
mutates real resources to hold it to that); where it is unsure it defers to fhirclient."""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

from fhirclient.models.fhirabstractbase import FHIRAbstractBase, FHIRValidationError
from fhirclient.models.fhirabstractresource import FHIRAbstractResource
from fhirclient.models.fhirdate import FHIRDate

from yilian.fhir.rules import FhirError, code_problems, issue

# fhirclient's own words, with the repr of a Python object in them: said as the element's path.
_MISSING = re.compile(r'Non-optional property "([^"]+)" on <[^>]*> is missing')
_SUPERFLUOUS = re.compile(r'Superfluous entry "([^"]+)" in data for <[^>]*>')


@cache
def model_of(resource_type: str) -> Any:
    try:
        module = importlib.import_module(f"fhirclient.models.{resource_type.lower()}")
        return getattr(module, resource_type)
    except (ImportError, AttributeError):
        return None


def load_models(resource_types: tuple[str, ...]) -> None:
    """Import the models of these types now (half a second): at a server process's start, so that
    its first FHIR request, often a Bundle import, does not wait for them."""
    for resource_type in resource_types:
        model_of(resource_type)


# What an element's value must be: another model (a JSON object), a date/time string, or a primitive.
_MODEL, _DATE, _PRIMITIVE = 0, 1, 2


@cache
def _table(model: Any) -> tuple[dict[str, tuple[Any, int, bool, str]], frozenset[str]]:
    """The model's elements by JSON name — (type, kind, is a list, the name its presence counts for:
    the choice group for value[x]) — and the names that must be present."""
    elements: dict[str, tuple[Any, int, bool, str]] = {}
    required = set()
    for _name, jsname, typ, is_list, of_many, not_optional in model().elementProperties():
        if isinstance(typ, type) and issubclass(typ, FHIRAbstractBase):
            kind = _MODEL
        elif isinstance(typ, type) and issubclass(typ, FHIRDate):
            kind = _DATE
        else:
            kind = _PRIMITIVE
        elements[jsname] = (typ, kind, is_list, of_many or jsname)
        if not_optional:
            required.add(of_many or jsname)
    return elements, frozenset(required)


def _primitive_fits(value: Any, typ: Any) -> bool:
    if typ is bool:
        return isinstance(value, bool)
    if typ is int or typ is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, typ)


def _fits(value: Any, typ: Any, kind: int) -> bool:
    if kind == _MODEL:
        return isinstance(value, dict) and _conforms(value, typ)
    if kind == _DATE:
        if not isinstance(value, str):
            return False
        try:
            typ(value)
        except (TypeError, ValueError):
            return False
        return True
    return _primitive_fits(value, typ)


def _conforms(value: dict[str, Any], model: Any) -> bool:
    """True only if fhirclient would build `model` from `value` without an error."""
    if issubclass(model, FHIRAbstractResource) and "resourceType" in value:
        named = value["resourceType"]
        if named != model.resource_type:  # a contained resource: fhirclient builds the named type
            model = model_of(named) if isinstance(named, str) else None
            if model is None:
                return False
    elements, required = _table(model)
    present = set()
    for key, item in value.items():
        element = elements.get(key)
        if element is None:
            if key == "resourceType" or (key[:1] == "_" and key[1:] in elements and item is not None):
                continue
            return False  # unknown, or a value[x] group's bare name: let fhirclient judge
        if item is None:
            continue
        typ, kind, is_list, counts_for = element
        if is_list:
            if not isinstance(item, list) or not all(_fits(one, typ, kind) for one in item):
                return False
        elif not _fits(item, typ, kind):
            return False
        present.add(counts_for)
    return required <= present


def _paths(error: Exception, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten fhirclient's nested errors into (path, message) pairs."""
    if isinstance(error, FHIRValidationError):
        here = f"{prefix}.{error.path}" if prefix and error.path else (error.path or prefix)
        out: list[tuple[str, str]] = []
        for inner in error.errors:
            out.extend(_paths(inner, here))
        return out or [(here, str(error))]
    text = str(error).splitlines()[0].strip("'\"")
    for pattern, message in (
        (_MISSING, "a required element is missing"),
        (_SUPERFLUOUS, "not an element of R4"),
    ):
        found = pattern.search(text)
        if found:
            return [
                (f"{prefix}.{found.group(1)}" if prefix else found.group(1), f"{found.group(1)}: {message}")
            ]
    return [(prefix, text)]


def validate(resource: Any, expected_type: str | None = None) -> dict[str, Any]:
    """The resource if it is valid R4 JSON of a type we serve; FhirError (OperationOutcome) if not."""
    if not isinstance(resource, dict):
        raise FhirError(400, "structure", "the body is not a JSON object")
    named = resource.get("resourceType")
    model = model_of(named) if isinstance(named, str) else None
    if model is None:
        raise FhirError(400, "not-supported", f"unknown resource type '{named}'", ["resourceType"])
    resource_type = str(named)
    if expected_type and resource_type != expected_type:
        raise FhirError(400, "invalid", f"expected {expected_type}, got {resource_type}", ["resourceType"])
    if _conforms(resource, model):
        _check_codes(resource)
        return resource
    try:
        model(resource, strict=True)
    except FHIRValidationError as error:
        problems = _paths(error)
        raise FhirError.many(
            400,
            [
                issue(
                    "error",
                    "required" if message.endswith("is missing") else "structure",
                    message,
                    [f"{resource_type}.{path}" if path else resource_type],
                )
                for path, message in problems[:50]
            ],
        ) from None
    _check_codes(resource)
    return resource


def _check_codes(resource: dict[str, Any]) -> None:
    """Codes bound to a required value set (Observation.status …) hold one of its codes."""
    problems = code_problems(resource)
    if problems:
        raise FhirError.many(
            400, [issue("error", "code-invalid", message, [path]) for path, message in problems]
        )
