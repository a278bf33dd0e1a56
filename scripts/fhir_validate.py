"""Validate FHIR R4 JSON with fhir.resources' 4.0.1 models; run by scripts/fhir-validator in its own
environment (this file imports nothing of the platform's).

Besides the models' own checks (types, cardinality, primitives' patterns, ids), R4 rules the pydantic
models let through are checked here, from the specification and the models' metadata only:
- JSON (json.html): no empty array, object or string anywhere;
- a Reference's target type is one its element allows (the models' `enum_reference_types`, R4's
  Reference(...) lists) — `Schedule.actor` may not be an Organization;
- every Coding names its `system` (a code without one cannot be interpreted by another system)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import fhir.resources
from fhir.resources import construct_fhir_element
from fhir.resources.fhirabstractmodel import FHIRAbstractModel

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__


def resources_in(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def empties(value: Any, path: str) -> list[str]:
    """Paths of empty arrays, objects and strings: R4's JSON format has none."""
    if value == [] or value == {} or value == "":
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in empties(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in empties(item, f"{path}[{i}]")]
    return []


def codings_without_system(value: Any, path: str) -> list[str]:
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("coding"), list):
            found += [f"{path}.coding[{i}]" for i, c in enumerate(value["coding"]) if not c.get("system")]
        for key, item in value.items():
            found += codings_without_system(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += codings_without_system(item, f"{path}[{i}]")
    return found


def reference_targets(model: FHIRAbstractModel, path: str) -> list[str]:
    """Paths of References whose target type their element does not allow (R4's Reference(...))."""
    found = []
    for name, field in model.__fields__.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        allowed = field.field_info.extra.get("enum_reference_types")
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if not isinstance(item, FHIRAbstractModel):
                continue
            here = f"{path}.{name}" + (f"[{i}]" if isinstance(value, list) else "")
            if allowed and "Resource" not in allowed and item.resource_type == "Reference":
                reference = item.reference or ""
                named = item.type or (reference.split("/")[-2] if reference.count("/") >= 1 else None)
                if reference.startswith("#") or reference.startswith("urn:"):
                    named = item.type  # contained or a Bundle's fullUrl: only an explicit type to check
                if named and named not in allowed:
                    found.append(f"{here}: {named} (R4 allows {', '.join(allowed)})")
            found += reference_targets(item, here)
    return found


def r4_rules(resource: dict[str, Any], model: FHIRAbstractModel) -> list[str]:
    where = str(resource.get("resourceType"))
    problems = [f"empty: {p}" for p in empties(resource, where)]
    problems += [f"Coding without system: {p}" for p in codings_without_system(resource, where)]
    problems += [f"reference target: {p}" for p in reference_targets(model, where)]
    return problems


def count(resource: dict[str, Any], counted: Counter[str]) -> None:
    counted[resource["resourceType"]] += 1
    for entry in resource.get("entry") or []:
        if isinstance(entry.get("resource"), dict):
            count(entry["resource"], counted)
        if isinstance((entry.get("response") or {}).get("outcome"), dict):
            count(entry["response"]["outcome"], counted)


def main() -> int:
    counted: Counter[str] = Counter()
    errors: list[dict[str, str]] = []
    for name in sys.argv[1:]:
        for resource in resources_in(Path(name)):
            try:
                model = construct_fhir_element(resource["resourceType"], resource)
                problems = r4_rules(resource, model)
            except Exception as error:  # pydantic's ValidationError, or an unknown type
                problems = [str(error)[:1500]]
            if problems:
                errors.append(
                    {
                        "file": Path(name).name,
                        "resource": f"{resource.get('resourceType')}/{resource.get('id')}",
                        "error": "; ".join(problems)[:1500],
                    }
                )
                continue
            count(resource, counted)
    print(
        json.dumps(
            {
                "fhirVersion": fhir.resources.__fhir_version__,
                "validated": counted,
                "invalid": len(errors),
                "errors": errors[:20],
            }
        )
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
