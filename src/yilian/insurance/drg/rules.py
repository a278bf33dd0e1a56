"""The CHS-DRG grouper, written from the scheme's SPEC.md and driven only by its tables.

`Grouper(scheme)` compiles every condition tree once into closures and indexes the MDCs and ADRGs
by the principal diagnosis and the main procedure, so a case tests only the rules that can match
it; the first match in scheme order still decides, exactly as the specification walks them.

Deliberate choices (docs/decisions/0009-drg-grouper.md):
* sex is normalised to the integers 1/2 (the reference's string entry points compare "1" with 1
  and never enter MDCM/MDCN — SPEC Q1; its expected results use integers);
* as the scheme says (SPEC §3.3), code validity is not checked by default: a code missing from the
  dictionaries simply matches no list (a typo in a secondary diagnosis is no CC). With
  `check_codes=True` (the CLI's `--check-codes`) such a case gives ZD_NOT_VALID / SS_NOT_VALID and
  names the codes, for a coder who wants typos stopped before they are grouped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from yilian.insurance.drg.scheme import Scheme

NOT_GROUPED = ("0000", "00", "0000")
MALE = {1, "1", "男", "M", "m"}
FEMALE = {2, "2", "女", "F", "f"}


@dataclass(frozen=True, slots=True)
class Case:
    """One discharge as SPEC §2 names it; the first diagnosis is principal, the first procedure main."""

    case_id: str
    sex: Any
    age: Any
    diagnoses: Sequence[str] | str
    procedures: Sequence[str] | str = ()
    age_days: Any = None
    weight: Any = None
    department: str | None = None
    length_of_stay: int | None = None
    leaving_type: str | None = None


@dataclass(frozen=True, slots=True)
class GroupResult:
    case_id: str
    status_key: str
    status: str
    mdc: str
    adrg: str
    drg: str
    drg_name: str = ""
    unknown_codes: tuple[str, ...] = ()
    trace: tuple[str, ...] = field(default=())

    @property
    def grouped(self) -> bool:
        return self.status_key == "SUCCESS"


class _Facts:
    """The case as the rules read it; complications are worked out only if a DRG rule asks."""

    __slots__ = ("dx", "procs", "principal", "main", "gender", "age", "age_days", "weight", "_cx")

    def __init__(
        self,
        dx: list[str],
        procs: list[str],
        gender: int,
        age: int,
        age_days: int | None,
        weight: int | None,
    ) -> None:
        self.dx = dx
        self.procs = procs
        self.principal = dx[0]
        self.main = procs[0] if procs else None
        self.gender = gender
        self.age = age
        self.age_days = age_days
        self.weight = weight
        self._cx: tuple[bool, bool] | None = None


Test = Callable[[_Facts], bool]


def split_codes(value: Sequence[str] | str, *, keep_empty: bool) -> list[str]:
    """SPEC §3.1: split on ',' and '|'; an empty diagnosis string is the one-element list ['']."""
    if not isinstance(value, str):
        return list(value)
    if not value and not keep_empty:
        return []
    return value.replace("|", ",").split(",")


class Grouper:
    def __init__(self, scheme: Scheme, *, translate: bool = False, check_codes: bool = False) -> None:
        self.scheme = scheme
        self.translate = translate
        self.check_codes = check_codes
        self._known_dx = scheme.known_diagnoses() if check_codes else frozenset()
        self._known_ss = scheme.known_procedures() if check_codes else frozenset()
        self._mcc, self._cc, self._cce = scheme.mcc, scheme.cc, scheme.cce
        self._compile()

    # ---- compilation -------------------------------------------------------------------------

    def _atom(self, atom: dict[str, Any], lists: dict[str, frozenset[str]], tags: dict[str, str]) -> Test:
        kind = atom["type"]
        members = lists.get(atom.get("list", ""), frozenset())
        value: Any = atom.get("value")
        valid = self.scheme.ss_valid
        if kind == "always":
            return lambda f: True
        if kind == "principal_dx_in":
            return lambda f: f.principal in members
        if kind == "any_dx_in":
            return lambda f: not members.isdisjoint(f.dx)
        if kind == "has_procedure":
            return lambda f: bool(f.procs)
        if kind == "main_proc_in":
            return lambda f: f.main in members
        if kind == "any_proc_in":
            return lambda f: not members.isdisjoint(f.procs)
        if kind == "main_proc_in_ss_valid":
            return lambda f: f.main in valid
        if kind == "no_proc_in_ss_valid":
            return lambda f: valid.isdisjoint(f.procs)
        if kind == "any_proc_in_ss_valid":
            return lambda f: not valid.isdisjoint(f.procs)
        if kind == "proc_tag_present":
            tagged = frozenset(code for code, tag in tags.items() if tag == str(atom["tag"]))
            return lambda f: not tagged.isdisjoint(f.procs)
        if kind == "age_years_eq":
            return lambda f: f.age == value
        if kind == "gender_eq":
            return lambda f: f.gender == value
        if kind == "age_days_present":
            return lambda f: f.age_days is not None
        if kind == "age_days_le":
            return lambda f: f.age_days is not None and f.age_days <= value
        if kind == "weight_present":
            return lambda f: bool(f.weight)
        if kind == "weight_ge":
            return lambda f: f.weight is not None and f.weight >= value
        if kind == "weight_lt":
            return lambda f: f.weight is not None and f.weight < value
        if kind == "trauma_sites_ge":
            sites = self.scheme.trauma_sites
            return lambda f: len({sites[d] for d in set(f.dx) if d in sites}) >= value
        if kind == "has_secondary_dx":
            return lambda f: len(f.dx) > 1
        if kind == "has_mcc":
            return lambda f: self._complications(f)[0]
        if kind == "has_cc":
            return lambda f: self._complications(f)[1]
        raise ValueError(f"unknown condition type {kind!r} in the DRG scheme")

    def _condition(
        self, node: dict[str, Any], lists: dict[str, frozenset[str]], tags: dict[str, str] | None = None
    ) -> Test:
        tags = tags or {}
        if "all" in node:
            parts = tuple(self._condition(child, lists, tags) for child in node["all"])
            if len(parts) == 1:
                return parts[0]
            return lambda f: all(part(f) for part in parts)
        if "any" in node:
            options = tuple(self._condition(child, lists, tags) for child in node["any"])
            return lambda f: any(option(f) for option in options)
        return self._atom(node, lists, tags)

    @staticmethod
    def _key_list(
        node: dict[str, Any], atom_type: str, lists: dict[str, frozenset[str]]
    ) -> frozenset[str] | None:
        """The list a top-level conjunct requires the principal / main procedure to be in, if any."""
        for child in node.get("all", [node]):
            if child.get("type") == atom_type:
                return lists.get(child["list"], frozenset())
        return None

    def _compile(self) -> None:
        scheme = self.scheme
        self._adrg_test: dict[str, Test] = {}
        self._drg_tests: dict[str, tuple[tuple[str, Test], ...]] = {}
        for code, adrg in scheme.adrgs.items():
            self._adrg_test[code] = self._condition(adrg.condition, adrg.lists, adrg.proc_tags)
            self._drg_tests[code] = tuple(
                (drg, self._condition(scheme.drg_conditions[drg], {})) for drg in adrg.drg_sequence
            )

        self._mdc_entry: list[Test] = []
        self._mdc_by_principal: dict[str, list[int]] = {}
        self._mdc_unindexed: list[int] = []
        # Per MDC: steps indexed by principal, by main procedure, and steps always tested.
        self._steps: list[tuple[dict[str, list[int]], dict[str, list[int]], list[int]]] = []
        for index, mdc in enumerate(scheme.mdcs):
            lists = {"mdc_zd": mdc.dx_list}
            self._mdc_entry.append(self._condition(mdc.entry, lists))
            required = self._key_list(mdc.entry, "principal_dx_in", lists)
            if required is None:
                self._mdc_unindexed.append(index)
            else:
                for code in required:
                    self._mdc_by_principal.setdefault(code, []).append(index)
            by_principal: dict[str, list[int]] = {}
            by_main: dict[str, list[int]] = {}
            unindexed: list[int] = []
            for position, code in enumerate(mdc.steps):
                adrg = scheme.adrgs[code]
                principal_list = self._key_list(adrg.condition, "principal_dx_in", adrg.lists)
                main_list = self._key_list(adrg.condition, "main_proc_in", adrg.lists)
                if principal_list is not None:
                    for dx in principal_list:
                        by_principal.setdefault(dx, []).append(position)
                elif main_list is not None:
                    for proc in main_list:
                        by_main.setdefault(proc, []).append(position)
                else:
                    unindexed.append(position)
            self._steps.append((by_principal, by_main, unindexed))
        self._qy = [
            [(position, result, self._condition(cond, {})) for position, result, cond in mdc.enabled_qy]
            for mdc in scheme.mdcs
        ]

    # ---- complications (SPEC §7) ---------------------------------------------------------------

    def _complications(self, facts: _Facts) -> tuple[bool, bool]:
        if facts._cx is None:
            exclusion = self._cce.get(facts.principal)
            secondaries = facts.dx[1:]
            mcc, cc = self._mcc, self._cc
            has_mcc = any(x in mcc and mcc[x] != exclusion for x in secondaries)
            has_cc = any(x in cc and cc[x] != exclusion for x in secondaries)
            facts._cx = (has_mcc, has_cc)
        return facts._cx

    # ---- grouping ----------------------------------------------------------------------------

    def _result(self, case: Case, key: str, code: tuple[str, str, str], **extra: Any) -> GroupResult:
        mdc, adrg, drg = code
        return GroupResult(
            case_id=case.case_id,
            status_key=key,
            status=self.scheme.statuses.get(key, key),
            mdc=mdc,
            adrg=adrg,
            drg=drg,
            drg_name=self.scheme.drg_names.get(drg, ""),
            **extra,
        )

    def _translated(self, codes: list[str], mapping: dict[str, str]) -> list[str] | None:
        """SPEC §3.2 and Q3: replace the first position holding each visited code, in place."""
        current = list(codes)
        for code in codes:
            if code not in mapping:
                return None
            current[current.index(code)] = mapping[code]
        return [c for c in current if c not in ("", "-")]

    def group(self, case: Case, *, trace: bool = False) -> GroupResult:
        """Group one case; never raises for bad input — the status says what was wrong."""
        dx = split_codes(case.diagnoses, keep_empty=True)
        procs = split_codes(case.procedures, keep_empty=False)
        if self.translate:
            mapped_dx = self._translated(dx, self.scheme.zd_map)
            if mapped_dx is None:
                return self._result(case, "ZD_NOT_MAPPING", NOT_GROUPED)
            mapped_ss = self._translated(procs, self.scheme.ss_map)
            if mapped_ss is None:
                return self._result(case, "SS_NOT_MAPPING", NOT_GROUPED)
            dx, procs = mapped_dx, mapped_ss

        checked = _checked_demographics(case, dx)
        if checked is None:
            return self._result(case, "CHECK_FAILED", NOT_GROUPED)
        gender, age, age_days, weight = checked

        if self.check_codes:
            unknown_dx = tuple(c for c in dx if c not in self._known_dx)
            if unknown_dx:
                return self._result(case, "ZD_NOT_VALID", NOT_GROUPED, unknown_codes=unknown_dx)
            unknown_ss = tuple(c for c in procs if c not in self._known_ss)
            if unknown_ss:
                return self._result(case, "SS_NOT_VALID", NOT_GROUPED, unknown_codes=unknown_ss)

        facts = _Facts(dx, procs, gender, age, age_days, weight)
        notes: list[str] | None = [] if trace else None
        code = self._walk(facts, notes)
        if code is None:
            if notes is not None:
                notes.append("不符合所有MDC的入组条件，无法入组")
            return self._result(case, "FAIL", NOT_GROUPED, trace=tuple(notes or ()))
        extra = {"trace": tuple(notes)} if notes is not None else {}
        if code[1:3] == "00":
            return self._result(case, "FAIL", ("MDC" + code[0], "00", "0000"), **extra)
        if code[1:3] == "QY":
            return self._result(case, "QY", ("MDC" + code[0], "QY", code), **extra)
        return self._result(case, "SUCCESS", ("MDC" + code[0], code[:3], code), **extra)

    def group_many(self, cases: Iterable[Case], *, trace: bool = False) -> list[GroupResult]:
        group = self.group
        return [group(case, trace=trace) for case in cases]

    def _walk(self, facts: _Facts, notes: list[str] | None) -> str | None:
        mdc_indices = self._mdc_by_principal.get(facts.principal, [])
        if self._mdc_unindexed:
            mdc_indices = sorted(set(mdc_indices).union(self._mdc_unindexed))
        for index in mdc_indices:
            if not self._mdc_entry[index](facts):
                continue
            mdc = self.scheme.mdcs[index]
            by_principal, by_main, unindexed = self._steps[index]
            positions = set(unindexed)
            positions.update(by_principal.get(facts.principal, ()))
            if facts.main is not None:
                positions.update(by_main.get(facts.main, ()))
            qy = self._qy[index]
            for position in sorted(positions) if len(positions) > 1 else positions:
                if qy:
                    hit = self._qy_before(qy, position, facts)
                    if hit:
                        return hit
                adrg = mdc.steps[position]
                if self._adrg_test[adrg](facts):
                    if notes is not None:
                        self._explain(notes, facts, mdc.mdc, mdc.label, adrg)
                    for drg, test in self._drg_tests[adrg]:
                        if test(facts):
                            return drg
                    return adrg  # unreachable in CHS-DRG 1.1: every ADRG's last DRG is unconditional
            if qy:
                hit = self._qy_before(qy, len(mdc.steps), facts)
                if hit:
                    return hit
        return None

    @staticmethod
    def _qy_before(qy: list[tuple[int, str, Test]], position: int, facts: _Facts) -> str | None:
        """An enabled QY slot (none in 1.1) fires before the first ADRG after it."""
        for slot, result, test in qy:
            if slot <= position and test(facts):
                return result
        return None

    def _explain(self, notes: list[str], facts: _Facts, mdc: str, mdc_label: str, adrg: str) -> None:
        names_dx, names_ss = self.scheme.zd_names, self.scheme.ss_names
        notes.extend(f"{c} {names_dx.get(c, '')}".rstrip() for c in facts.dx)
        notes.extend(f"{c} {names_ss.get(c, '')}".rstrip() for c in facts.procs)
        notes.append(f"符合{mdc}入组条件，匹配规则：{mdc_label}")
        notes.append(f"符合{adrg}入组条件，匹配规则：{self.scheme.adrgs[adrg].label}")
        exclusion = self._cce.get(facts.principal)
        if exclusion is not None:
            notes.append(f"主诊断{facts.principal}排除表{exclusion}")
        for code in facts.dx[1:]:
            for label, table in (("MCC", self._mcc), ("CC", self._cc)):
                if code in table:
                    verdict = "被主诊断排除" if table[code] == exclusion else "计入"
                    notes.append(f"诊断{code}属于{label}，排除表{table[code]}，{verdict}")


def _as_int(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return int(value)


def _checked_demographics(case: Case, dx: list[str]) -> tuple[int, int, int | None, int | None] | None:
    """SPEC §3.3, in its order; None means CHECK_FAILED."""
    if case.sex is None:
        return None
    if case.sex in MALE:
        gender = 1
    elif case.sex in FEMALE:
        gender = 2
    else:
        return None
    try:
        age = _as_int(case.age)
        age_days = _as_int(case.age_days)
        weight = _as_int(case.weight)
    except (TypeError, ValueError):
        return None
    if age is None:
        return None
    if age == 0 and age_days is None:
        return None
    if age == 0 and age_days is not None and age_days <= 28 and weight is None:
        return None
    if not dx:
        return None
    return gender, age, age_days, weight
