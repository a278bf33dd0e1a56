"""The portal's pure rules: mobile numbers, sending limits, the health card's signed payload."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from yilian.kit.errors import AppError, ValidationFailed
from yilian.portal import rules

SECRET = "k" * 32
NOW = datetime(2026, 11, 24, 9, 0)


def test_mobile_numbers() -> None:
    assert rules.check_mobile(" +86 139 1234 5678") == "13912345678"
    for bad in ("12912345678", "1391234567", "139123456789", "abc"):
        with pytest.raises(ValidationFailed):
            rules.check_mobile(bad)


def test_one_code_a_minute_five_an_hour() -> None:
    rules.check_send_allowed([], NOW)
    with pytest.raises(AppError) as soon:
        rules.check_send_allowed([NOW - timedelta(seconds=20)], NOW)
    assert soon.value.status == 429 and "41秒" in soon.value.message_zh
    five = [NOW - timedelta(minutes=m) for m in (5, 15, 25, 35, 45)]
    with pytest.raises(AppError):
        rules.check_send_allowed(five, NOW)
    rules.check_send_allowed([NOW - timedelta(minutes=m) for m in (5, 15, 25, 35, 65)], NOW)


def test_card_payload_signed_and_checked() -> None:
    claim = rules.CardClaim("HC000123", 2, 1_790_000_000)
    payload = rules.sign_card(claim, SECRET)
    assert payload.startswith("YLHC1.HC000123.2.1790000000.")
    assert rules.read_card(payload, SECRET) == claim
    forged = [
        payload.replace("HC000123", "HC000124"),  # another resident's number, same signature
        payload.replace(".2.", ".3."),  # a newer version
        payload[:-2] + "AA",
        "YLHC1.HC000123.2",
        "hello",
    ]
    for bad in forged:
        with pytest.raises(rules.ForgedCard):
            rules.read_card(bad, SECRET)
    with pytest.raises(rules.ForgedCard):
        rules.read_card(payload, "another-secret-of-another-install")


def test_what_was_looked_at_is_named_in_words() -> None:
    from yilian.portal.rules import entity_label

    assert entity_label("resident") == "个人基本信息"
    assert entity_label("exam_order") == "检查检验"
    assert entity_label("some_new_table") == "健康档案"  # never the table's name


def test_a_ward_is_named_as_the_account_sees_them() -> None:
    from yilian.portal.rules import RELATIONS, ward_seen_as

    # The guardianship records the guardian's relation ("父母": the account is the parent).
    assert [ward_seen_as(r) for r in RELATIONS] == ["子女", "父母", "配偶", "被监护人"]
