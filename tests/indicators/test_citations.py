"""Issue 21: every indicator cites the notice, section and item its target comes from — found in the
notice itself (../shared/seeds) — and never the internal digest (DOMAIN.md); a target no notice
sets is marked as the county's own."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from yilian.indicators.catalogue import OWN_TARGET, Citation, load_catalogue
from yilian.indicators.service import catalogue, targets
from yilian.kit.errors import ValidationFailed


def plain(text: str) -> str:
    """The seeds mix full- and half-width punctuation and break lines anywhere: compare without."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def notice_lines(shared_root: Path, notice: str) -> list[str]:
    found = sorted((shared_root / "seeds").glob(f"{notice}_*.txt"))
    if not found:
        pytest.fail(f"no notice {notice} in {shared_root / 'seeds'} (set YILIAN_SHARED_DIR)")
    return [line for line in map(plain, found[0].read_text(encoding="utf-8").splitlines()) if line]


def located(citation: Citation, lines: list[str]) -> bool:
    """Each heading in order, then the quoted words further down; in 002's annex the item's number
    is the line just before its text."""
    at = 0
    for heading in citation.section:
        at = next((n for n in range(at, len(lines)) if plain(heading) in lines[n]), -1)
        if at < 0:
            return False
    quote = next((n for n in range(at, len(lines)) if plain(citation.quote) in lines[n]), -1)
    if quote < 0:
        return False
    return not citation.item or lines[quote - 1] == citation.item


def test_every_indicator_cites_a_clause_found_in_its_notice_or_is_the_countys_own(shared_root: Path) -> None:
    for indicator in (*catalogue(), *targets().values()):
        assert "DOMAIN" not in indicator.source.upper(), indicator.code
        assert indicator.citations or indicator.own_target, indicator.code
        for citation in indicator.citations:
            lines = notice_lines(shared_root, citation.notice.id)
            assert located(citation, lines), (indicator.code, citation)
            # what the page shows names the notice (issuer, title, number, year), section and words
            shown = citation.text()
            assert citation.notice.title in shown and f"{citation.notice.year}年" in shown
            assert all(h in shown for h in citation.section) and citation.quote in shown
            assert any(plain(citation.notice.title) in line for line in lines[:40])


def test_the_targets_the_issue_names_cite_their_clauses(shared_root: Path) -> None:
    by_code = {i.code: i for i in catalogue()}
    # 60 % and 50 % are targets of 001 (舟山, 2018) 一、(三)目标任务 — not 002's annex nor 000 §2
    for code, target, words in (
        ("grassroots_visit_share", 60, "基层就诊率达到60%"),
        ("signing_rate", 50, "责任医生规范签约服务率达到50%"),
        ("in_county_visit_rate", 90, "县域内就诊率达到90%"),
        ("shared_centre_coverage", 100, "区域共享中心覆盖率达到100%"),
    ):
        indicator = by_code[code]
        first = indicator.citations[0]
        assert indicator.target == target
        assert (first.notice.id, first.section, first.quote) == (
            "001",
            ("一、总体要求", "(三)目标任务"),
            words,
        )
        assert indicator.source.startswith(
            "舟山市人民政府办公室《舟山市高水平区域医疗联合体建设方案》（舟政办发〔2018〕21号，2018年）"
        )
    # the 80 % for chronic patients' signing is set by no notice: the county's own
    chronic = by_code["chronic_signed_rate"]
    assert chronic.target == 80 and not chronic.citations
    assert chronic.source.startswith(OWN_TARGET)
    assert by_code["inpatient_in_county_rate"].source.startswith(OWN_TARGET)
    # 002's annex: the item number as the annex numbers it
    # 001 二、(一): referral bookings ≥ 30 % of the city hospital's outpatients (shown by the referral figures)
    booking = targets()["referral_booking_share"]
    assert (booking.target, booking.citations[0].section) == (
        30,
        ("二、组织模式", "(一)建设优质高效的“线上医联体”"),
    )
    village = by_code["village_doctor_growth"].citations[0]
    assert (village.notice.id, village.item) == ("002", "29") and "第29项" in village.text()


def test_a_source_that_cannot_be_checked_is_refused() -> None:
    base = (
        '[[notice]]\nid = "001"\nissuer = "舟山市人民政府办公室"\ntitle = "方案"\nyear = 2018\n'
        '[[indicator]]\ncode = "x"\nfact = "visits"\nnumerator = "true"\ndenominator = "true"\n'
        'direction = ">="\nlevels = { county = "institution_county" }\n'
    )
    for source in ('"DOMAIN 10"', '{ notice = "009", section = "一", quote = "x" }', '{ own = "" }', ""):
        with pytest.raises(ValidationFailed) as failure:
            load_catalogue(base + (f"source = {source}\n" if source else ""))
        assert [e.field for e in failure.value.errors] == ["indicator x.source"], source
    ok = load_catalogue(base + 'source = { notice = "001", section = ["一"], quote = "达到60%" }\n')
    assert ok[0].source == "舟山市人民政府办公室《方案》（2018年）一：“达到60%”"
