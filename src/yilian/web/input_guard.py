"""Refuses text carrying the NUL character (U+0000) before any endpoint sees it.

PostgreSQL can neither store nor compare text containing NUL (psycopg raises DataError: a 500 on
any search, lookup or insert), and jsonb refuses the escape "\\u0000". No field of the platform
means NUL, so a request carrying one in a path, query, form or JSON field (or JSON key) is a 422
naming the field, on both engines alike. Uploaded files are bytes and are not looked at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from fastapi import Request

from yilian.kit.errors import FieldError, ValidationFailed

NUL = "\x00"


async def refuse_nul_characters(request: Request) -> None:
    """An app-wide dependency: cheap when there is no NUL (substring searches on what FastAPI has
    already read; the body is read once and cached on the request)."""
    bad = [name for name, value in request.path_params.items() if NUL in str(value)]
    bad += [name for name, value in request.query_params.multi_items() if NUL in name + value]
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        body = await request.body()
        if b"\\u0000" in body or b"\x00" in body:
            with suppress(ValueError):  # not JSON: the endpoint's own parsing refuses it
                bad += list(_nul_fields(json.loads(body), ""))
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        bad += [name for name, value in form.multi_items() if isinstance(value, str) and NUL in name + value]
    if bad:
        raise ValidationFailed(
            [
                FieldError(
                    name or "body", "不能含空字符（U+0000）", "must not contain the NUL character (U+0000)"
                )
                for name in dict.fromkeys(bad)
            ],
            "请求含空字符（U+0000）",
            "The request contains the NUL character (U+0000)",
        )


def _nul_fields(value: Any, path: str) -> Iterator[str]:
    """Where in a JSON document a string (or a key) holds NUL: "diagnoses[0]", "terms.rate"."""
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                yield name
            else:
                yield from _nul_fields(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_fields(item, f"{path}[{index}]")
