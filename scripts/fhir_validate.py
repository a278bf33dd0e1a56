"""Validate FHIR R4 JSON with fhir.resources' 4.0.1 models; run by scripts/fhir-validator in its own
environment (this file imports nothing of the platform's)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import fhir.resources
from fhir.resources import construct_fhir_element

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__


def resources_in(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


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
                construct_fhir_element(resource["resourceType"], resource)
            except Exception as error:  # pydantic's ValidationError, or an unknown type
                errors.append(
                    {
                        "file": Path(name).name,
                        "resource": f"{resource.get('resourceType')}/{resource.get('id')}",
                        "error": str(error)[:1500],
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
