"""Load a CHS-DRG scheme directory (tables/ and rules/, as in SPEC.md) into plain Python data.

The scheme is data the user points at (cities publish variants), never a copy inside the project.
Loading reads CSV and JSON only; `rules.Grouper` compiles what is loaded into fast lookups.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from yilian.kit.errors import ValidationFailed


@dataclass(frozen=True)
class MdcRule:
    mdc: str
    letter: str
    entry: dict[str, Any]
    steps: tuple[str, ...]  # ADRG codes in evaluation order; disabled QY slots are dropped
    enabled_qy: tuple[tuple[int, str, dict[str, Any]], ...]  # (position, result, condition)
    label: str
    dx_list: frozenset[str]


@dataclass(frozen=True)
class AdrgRule:
    adrg: str
    mdc: str
    condition: dict[str, Any]
    label: str
    drg_sequence: tuple[str, ...]
    lists: dict[str, frozenset[str]]
    proc_tags: dict[str, str]  # procedure code → tag (JA1, JA2, NA1)


@dataclass(frozen=True)
class Scheme:
    """Everything a grouper needs, keyed by the codes SPEC.md names."""

    name: str
    mdcs: tuple[MdcRule, ...]
    adrgs: dict[str, AdrgRule]
    drg_conditions: dict[str, dict[str, Any]]
    drg_names: dict[str, str]
    mcc: dict[str, str]
    cc: dict[str, str]
    cce: dict[str, str]
    ss_valid: frozenset[str]
    trauma_sites: dict[str, str]
    statuses: dict[str, str]
    zd_names: dict[str, str] = field(repr=False)
    ss_names: dict[str, str] = field(repr=False)
    zd_map: dict[str, str] = field(repr=False)
    ss_map: dict[str, str] = field(repr=False)

    def known_diagnoses(self) -> frozenset[str]:
        """The dictionary plus every code a rule names (four list codes are missing from zd_info, Q5)."""
        listed: set[str] = set(self.zd_names)
        for mdc in self.mdcs:
            listed |= mdc.dx_list
        for adrg in self.adrgs.values():
            listed |= adrg.lists.get("adrg_zd", frozenset())
        return frozenset(listed | set(self.mcc) | set(self.cc) | set(self.cce))

    def known_procedures(self) -> frozenset[str]:
        listed: set[str] = set(self.ss_names) | set(self.ss_valid)
        for adrg in self.adrgs.values():
            listed |= adrg.lists.get("adrg_ss", frozenset())
            if not adrg.proc_tags:
                listed |= adrg.lists.get("adrg_ss1", frozenset())
        return frozenset(listed)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _pairs(path: Path, key: str, value: str) -> dict[str, str]:
    """Key → value with the last row winning, as the reference loads its .dat tables (SPEC §1.1)."""
    return {row[key]: row[value] for row in _rows(path)}


def load_scheme(directory: Path | str) -> Scheme:
    """Read a scheme directory; a missing file is a clear bilingual error naming it."""
    root = Path(directory)
    tables, rules = root / "tables", root / "rules"
    required = [
        tables / "mcc.csv",
        tables / "cc.csv",
        tables / "cce.csv",
        tables / "ss_valid.csv",
        tables / "drg_names.csv",
        rules / "mdc_rules.json",
        rules / "mdc_dx_lists.csv",
        rules / "adrg_rules.json",
        rules / "adrg_lists.csv",
        rules / "drg_rules.json",
        rules / "mdcz_trauma_sites.csv",
    ]
    missing = [str(p) for p in required if not p.is_file()]
    if missing:
        raise ValidationFailed.one(
            "scheme",
            f"DRG 分组方案目录缺少文件：{', '.join(missing)}",
            f"the DRG scheme directory lacks: {', '.join(missing)}",
        )

    mdc_lists: dict[str, set[str]] = {}
    for row in _rows(rules / "mdc_dx_lists.csv"):
        mdc_lists.setdefault(row["mdc"], set()).add(row["code"])
    adrg_lists: dict[tuple[str, str], set[str]] = {}
    for row in _rows(rules / "adrg_lists.csv"):
        adrg_lists.setdefault((row["adrg"], row["list"]), set()).add(row["value"])
    proc_tags: dict[str, dict[str, str]] = {}
    tag_file = rules / "adrg_proc_tags.csv"
    if tag_file.is_file():
        for row in _rows(tag_file):
            proc_tags.setdefault(row["adrg"], {}).setdefault(row["code"], row["tag"])  # first wins

    mdc_doc = json.loads((rules / "mdc_rules.json").read_text(encoding="utf-8"))
    mdcs = []
    for item in mdc_doc["mdcs"]:
        steps: list[str] = []
        qy: list[tuple[int, str, dict[str, Any]]] = []
        for step in item["steps"]:
            if step["kind"] == "adrg":
                steps.append(step["adrg"])
            elif step.get("enabled"):
                qy.append((len(steps), step["result"], step["condition"]))
        mdcs.append(
            MdcRule(
                mdc=item["mdc"],
                letter=item["mdc_letter"],
                entry=item["entry_condition"],
                steps=tuple(steps),
                enabled_qy=tuple(qy),
                label=item.get("rule_label") or "",
                dx_list=frozenset(mdc_lists.get(item["mdc"], ())),
            )
        )
    order = {code: i for i, code in enumerate(mdc_doc.get("mdc_order", [m.mdc for m in mdcs]))}
    mdcs.sort(key=lambda m: order[m.mdc])

    adrgs = {}
    for item in json.loads((rules / "adrg_rules.json").read_text(encoding="utf-8"))["adrgs"]:
        code = item["adrg"]
        adrgs[code] = AdrgRule(
            adrg=code,
            mdc=item["mdc"],
            condition=item["condition"],
            label=item.get("rule_label") or "",
            drg_sequence=tuple(item["drg_sequence"]),
            lists={
                name: frozenset(adrg_lists.get((code, name), ()))
                for name in ("adrg_zd", "adrg_zd1", "adrg_ss", "adrg_ss1")
            },
            proc_tags=proc_tags.get(code, {}),
        )
    drg_conditions = {
        item["drg"]: item["condition"]
        for item in json.loads((rules / "drg_rules.json").read_text(encoding="utf-8"))["drgs"]
    }

    def optional_pairs(path: Path, key: str, value: str) -> dict[str, str]:
        return _pairs(path, key, value) if path.is_file() else {}

    return Scheme(
        name=root.name,
        mdcs=tuple(mdcs),
        adrgs=adrgs,
        drg_conditions=drg_conditions,
        drg_names=_pairs(tables / "drg_names.csv", "drg", "name"),
        mcc=_pairs(tables / "mcc.csv", "code", "exclusion_table"),
        cc=_pairs(tables / "cc.csv", "code", "exclusion_table"),
        cce=_pairs(tables / "cce.csv", "principal_code", "exclusion_table"),
        ss_valid=frozenset(row["code"] for row in _rows(tables / "ss_valid.csv")),
        trauma_sites=_pairs(rules / "mdcz_trauma_sites.csv", "code", "site"),
        statuses=optional_pairs(rules / "statuses.csv", "key", "text") or dict(DEFAULT_STATUSES),
        zd_names=optional_pairs(tables / "zd_info.csv", "code", "name"),
        ss_names=optional_pairs(tables / "ss_info.csv", "code", "name"),
        zd_map=optional_pairs(tables / "zd_map.csv", "source_code", "grouper_code"),
        ss_map=optional_pairs(tables / "ss_map.csv", "source_code", "grouper_code"),
    )


DEFAULT_STATUSES = {
    "CHECK_FAILED": "信息校验不通过",
    "SUCCESS": "分组成功",
    "FAIL": "无法入组",
    "ZD_NOT_MAPPING": "诊断不能转换为分组器支持的编码",
    "SS_NOT_MAPPING": "手术操作不能转换为分组器支持的编码",
    "ZD_NOT_VALID": "诊断不是有效的ICD编码",
    "SS_NOT_VALID": "手术操作不是有效的ICD编码",
    "QY": "歧义病案",
}


@lru_cache(maxsize=4)
def cached_scheme(directory: str) -> Scheme:
    """One parse per process and directory: loading takes about a second."""
    return load_scheme(directory)
