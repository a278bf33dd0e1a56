"""The import cycles issue 23 named stay gone (decision 0030).

The layers contract in pyproject.toml keeps the whole package in order; this test names the six
cycles the issue found, one by one, so a reader sees which one came back and through which modules.
The graph is grimp's (what import-linter reads): every import statement in the source, including those
inside functions and under `TYPE_CHECKING`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
import pytest

# (lower, upper): the upper package may import the lower one; the lower one never imports the upper.
NAMED_CYCLES = [
    ("residents", "encounters"),
    ("residents", "family_doctor"),
    ("residents", "referral"),
    ("registry", "residents"),
    ("encounters", "insurance"),
]
# Peers: neither imports the other; a journey that needs both is in pathways.
PEERS = [("scheduling", "referral")]

LAYERS_CONTRACT = "Layers: journeys above domains, domains above the base (decision 0030)"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("yilian", cache_dir=None)


def _chains(graph: grimp.ImportGraph, importer: str, imported: str) -> set[tuple[str, ...]]:
    return graph.find_shortest_chains(importer=f"yilian.{importer}", imported=f"yilian.{imported}")


def test_the_graph_sees_imports_inside_functions_and_under_type_checking(graph: grimp.ImportGraph) -> None:
    # The command line imports its heavy commands inside the functions; the audit anchor imports the
    # settings only for type checking. A graph without them would let a hidden cycle pass.
    assert graph.direct_import_exists(importer="yilian.cli", imported="yilian.synth.build")
    assert graph.direct_import_exists(importer="yilian.kit.audit_anchor", imported="yilian.config")


@pytest.mark.parametrize(("lower", "upper"), NAMED_CYCLES, ids=[f"{a}-{b}" for a, b in NAMED_CYCLES])
def test_a_named_cycle_stays_broken(graph: grimp.ImportGraph, lower: str, upper: str) -> None:
    assert _chains(graph, lower, upper) == set(), f"{lower} reaches up to {upper}"


@pytest.mark.parametrize(("one", "other"), PEERS, ids=[f"{a}-{b}" for a, b in PEERS])
def test_peers_do_not_import_each_other(graph: grimp.ImportGraph, one: str, other: str) -> None:
    assert _chains(graph, one, other) == set(), f"{one} reaches {other}"
    assert _chains(graph, other, one) == set(), f"{other} reaches {one}"


def test_pathways_sits_above_the_domains_it_joins(graph: grimp.ImportGraph) -> None:
    # The journeys import the domains; no domain imports a journey.
    for domain in ("scheduling", "referral", "encounters", "insurance", "residents"):
        assert _chains(graph, "pathways", domain), f"pathways no longer uses {domain}"
        assert _chains(graph, domain, "pathways") == set(), f"{domain} reaches up to pathways"


def test_the_layers_contract_has_no_exceptions() -> None:
    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    layers = contracts[LAYERS_CONTRACT]
    assert layers["type"] == "layers"
    assert layers.get("exhaustive") is True
    for contract in contracts.values():
        assert "ignore_imports" not in contract, contract["name"]
        assert "unmatched_ignore_imports_alerting" not in contract, contract["name"]
