"""Masking of identifiers shown in lists and exports."""

from __future__ import annotations


def mask_id_number(value: str | None) -> str:
    """Keep the region (first 6) and the last 4 characters: 640181********123X."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * (len(value) - 2)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Keep the first 3 and the last 4 digits: 139****5678."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def shown_identifiers(id_number: str | None, phone: str | None, *, full: bool) -> tuple[str, str]:
    """The ID and phone numbers as a viewer may see them: in full, or masked."""
    if full:
        return id_number or "", phone or ""
    return mask_id_number(id_number), mask_phone(phone)
