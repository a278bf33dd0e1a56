"""The quick check in `fhir.validate` must never accept what fhirclient's models refuse: real Synthea
resources are mutated in the ways bad input arrives (an element dropped, an unknown one added, a
value of the wrong type, an impossible date) and every mutant the quick check passes must also
build in fhirclient. Pure: no database."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from fhirclient.models.fhirabstractbase import FHIRValidationError

from tests.factories.fhir import synthea_dir
from yilian.fhir.rules import FhirError
from yilian.fhir.validate import _conforms, model_of, validate


def synthea_resources(shared_root: Path) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for path in sorted(synthea_dir(shared_root).glob("*.json"))
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]
    ]


def model(resource: dict[str, Any]) -> Any:
    named = resource.get("resourceType")
    return model_of(named) if isinstance(named, str) else None


def quick_check_passes(resource: dict[str, Any]) -> bool:
    return model(resource) is not None and _conforms(resource, model(resource))


def fhirclient_accepts(resource: dict[str, Any]) -> bool:
    if model(resource) is None:
        return False
    try:
        model(resource)(copy.deepcopy(resource), strict=True)
    except (FHIRValidationError, TypeError, ValueError, KeyError, AttributeError):
        return False
    return True


def containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every dict inside a resource (the places an element can be dropped or added)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        found.append(path)
        for key, inner in value.items():
            found.extend(containers(inner, (*path, key)))
    elif isinstance(value, list):
        for number, inner in enumerate(value):
            found.extend(containers(inner, (*path, number)))
    return found


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


WRONG_VALUES: list[Any] = [1, "x", True, 2.5, {}, [], {"bogus": 1}, ["x"], [1], "2020-13-45", "2021-02-30"]


def mutants(resource: dict[str, Any], rng: random.Random, count: int) -> list[dict[str, Any]]:
    places = containers(resource)
    out = []
    for _ in range(count):
        mutant = copy.deepcopy(resource)
        where = at(mutant, rng.choice(places))
        keys = [k for k in where if k != "resourceType"]
        how = rng.randrange(3)
        if how == 0 and keys:
            del where[rng.choice(keys)]
        elif how == 1 or not keys:
            where[rng.choice(["bogus", "_bogus", "valueBogus", "value", "_status", "resourceType"])] = 1
        else:
            where[rng.choice(keys)] = rng.choice(WRONG_VALUES)
        out.append(mutant)
    return out


def test_every_synthea_resource_passes_the_quick_check(shared_root: Path) -> None:
    resources = synthea_resources(shared_root)
    assert len(resources) == 1191
    assert all(quick_check_passes(r) for r in resources)


def test_the_quick_check_accepts_no_mutant_that_fhirclient_refuses(shared_root: Path) -> None:
    rng = random.Random(20261125)
    resources = synthea_resources(shared_root)
    passed = refused = 0
    for resource in rng.sample(resources, 300):
        for mutant in mutants(resource, rng, 12):
            if quick_check_passes(mutant):
                passed += 1
                assert fhirclient_accepts(mutant), json.dumps(mutant)[:400]
            elif not fhirclient_accepts(mutant):
                refused += 1
    # Both kinds happen: the test exercises acceptance and refusal, not one of them.
    assert passed > 300
    assert refused > 1000


def test_a_refused_resource_names_its_paths() -> None:
    patient = {"resourceType": "Patient", "birthDate": "1990-02-30", "gender": 1, "bogus": True}
    with pytest.raises(FhirError) as caught:
        validate(patient)
    paths = sorted(item["expression"][0] for item in caught.value.issues)
    # An unknown element is named at its own path (not at the resource, with a Python repr).
    assert paths == ["Patient.birthDate", "Patient.bogus", "Patient.gender"]
    assert not any(" object at 0x" in item["diagnostics"] for item in caught.value.issues)


def test_what_only_fhirclient_accepts_is_still_accepted() -> None:
    """The quick check is stricter in places (a bool where an integer is due); fhirclient decides."""
    request = {"resourceType": "Appointment", "status": "booked", "participant": [{"status": "accepted"}]}
    request["minutesDuration"] = True
    assert not _conforms(request, model_of("Appointment"))
    assert validate(request) is request
