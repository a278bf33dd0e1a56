"""For the few endpoints served without FastAPI's dependency injection (decision 0011).

A route whose endpoint takes only the `Request` skips FastAPI's per-request dependency solving, body
validation and response-model serialization: on the 2-core bench that machinery cost more CPU than
the booking itself. The endpoint then does the same steps with the same functions — `request_session`
is the `get_session` dependency, `api_actor` the same authentication — and the helpers here parse the
body and headers into the same errors (a `RequestValidationError` goes to the same handler) and
document the body in OpenAPI as FastAPI would.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from yilian.web.deps import get_session

M = TypeVar("M", bound=BaseModel)


_own_session = asynccontextmanager(get_session)


@asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[Session]:
    """The request's session and transaction, exactly as the `DbSession` dependency gives it —
    including an override in `app.dependency_overrides`, as FastAPI would (the tests run each request
    in a savepoint of their own connection that way)."""
    provider = request.app.dependency_overrides.get(get_session, get_session)
    if provider is get_session:
        async with _own_session(request) as session:
            yield session
        return
    args = (request,) if inspect.signature(provider).parameters else ()
    if inspect.isasyncgenfunction(provider):
        async with asynccontextmanager(provider)(*args) as session:
            yield session
    else:
        with contextmanager(provider)(*args) as session:
            yield session


def parsed_body(model: type[M], raw: bytes) -> M:
    """The JSON body as `model`; a bad body names its fields as FastAPI's own validation does."""
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def optional_header(request: Request, name: str, *, max_length: int) -> str | None:
    value = request.headers.get(name)
    if value is not None and len(value) > max_length:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("header", name),
                    "msg": f"String should have at most {max_length} characters",
                    "input": value,
                }
            ]
        )
    return value


def json_response(out: BaseModel, status_code: int) -> Response:
    return Response(out.model_dump_json(), status_code=status_code, media_type="application/json")


def documented(body: type[BaseModel], headers: dict[str, str]) -> dict[str, Any]:
    """`openapi_extra` for such a route: the JSON body and the optional headers it reads."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": body.model_json_schema()}},
        },
        "parameters": [
            {
                "name": name,
                "in": "header",
                "required": False,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, text in headers.items()
        ],
    }
