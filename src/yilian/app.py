"""create_app(): API and web routers, static files, error handlers, the audit writer."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from yilian.auth.passwords import dummy_hash
from yilian.config import Settings, check_can_start, get_settings
from yilian.fhir.api import TokenScopes, fhir_error
from yilian.fhir.rules import FhirError
from yilian.kit.audit import AuditWriter, DurableAudit, load_chain_key
from yilian.kit.audit_anchor import AnchorKeeper, anchor_path
from yilian.kit.clock import Clock, SystemClock
from yilian.kit.db import Database
from yilian.kit.errors import AppError, FieldError, ValidationFailed
from yilian.portal.sms import sender_from_setting
from yilian.web.deps import LoginRequired
from yilian.web.input_guard import refuse_nul_characters
from yilian.web.templating import STATIC_DIR, render

logger = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/fhir/")) or "application/json" in request.headers.get(
        "accept", ""
    )


def _wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not FHIR): it gets an error page in Chinese."""
    return not _wants_json(request) and "text/html" in request.headers.get("accept", "")


_HEADINGS = {404: "页面不存在", 403: "无权访问", 401: "请先登录", 405: "不支持的操作", 500: "服务器出错了"}


def error_page(request: Request, error: AppError) -> Response:
    """The HTML error page: the message in Chinese (and English), a way back and a way home."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    back = referer[len(origin) :] if referer.startswith(origin + "/") else ""
    home = "/portal" if request.url.path.startswith("/portal") else "/app/"
    return render(
        request,
        "error.html",
        status_code=error.status,
        error=error,
        heading=_HEADINGS.get(error.status, "操作未完成"),
        back=back,
        home=home,
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


# Pydantic's error types in Chinese; the English is Pydantic's own message. Bounds name their limit.
_MESSAGES_ZH = {
    "missing": "缺少此项",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "int_type": "须为整数",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_type": "须为数字",
    "finite_number": "须为有限的数字",
    "decimal_max_places": "小数位数过多（最多{decimal_places}位）",
    "decimal_max_digits": "数字位数过多（最多{max_digits}位）",
    "less_than_equal": "不能大于{le}",
    "less_than": "须小于{lt}",
    "greater_than_equal": "不能小于{ge}",
    "greater_than": "须大于{gt}",
    "string_too_long": "不能超过{max_length}个字符",
    "string_too_short": "至少{min_length}个字符",
    "too_long": "不能超过{max_length}项",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "datetime_parsing": "须为日期时间",
    "datetime_from_date_parsing": "须为日期时间",
    "bool_parsing": "须为是或否（true/false）",
}


def _message_zh(error: Any) -> str:
    template = _MESSAGES_ZH.get(str(error.get("type", "")), "格式不正确或缺失")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return template


_HTTP_MESSAGES = {
    404: ("您访问的页面不存在，可能地址有误或页面已移至新工作站", "Page not found"),
    405: ("该地址不支持此操作", "Method not allowed"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, error: AppError) -> Response:
        if isinstance(error, LoginRequired) and not _wants_json(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if request.url.path.startswith("/fhir"):
            return fhir_error(
                FhirError(
                    error.status,
                    "security" if error.status in (401, 403) else "processing",
                    f"{error.message_en} / {error.message_zh}",
                )
            )
        if _wants_json(request):
            return JSONResponse(error.as_dict(), status_code=error.status)
        return error_page(request, error)

    @app.exception_handler(FhirError)
    async def fhir_failure(request: Request, error: FhirError) -> Response:
        return fhir_error(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_failure(request: Request, error: StarletteHTTPException) -> Response:
        """Under /fhir a 404 or 405 of the router is an OperationOutcome too (not `{"detail": …}`)."""
        if request.url.path == "/fhir" or request.url.path.startswith("/fhir/"):
            code = {404: "not-found", 405: "not-supported"}.get(error.status_code, "processing")
            answer = fhir_error(FhirError(error.status_code, code, str(error.detail)))
            for name, value in (error.headers or {}).items():
                answer.headers[name] = value
            return answer
        if _wants_html(request):
            zh, en = _HTTP_MESSAGES.get(error.status_code, ("请求未能完成", str(error.detail)))
            page = error_page(request, AppError(zh, en, error.status_code))
            for name, value in (error.headers or {}).items():
                page.headers[name] = value
            return page
        return await http_exception_handler(request, error)

    @app.exception_handler(Exception)
    async def server_failure(request: Request, error: Exception) -> Response:
        """An unexpected failure: a Chinese page for a browser, the bilingual JSON error for the rest
        (FHIR an OperationOutcome). The traceback goes to the log, never to the user."""
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        failure = AppError("服务器内部错误，请稍后重试或联系管理员", "Internal server error", 500)
        if request.url.path == "/fhir" or request.url.path.startswith("/fhir/"):
            return fhir_error(FhirError(500, "exception", f"{failure.message_en} / {failure.message_zh}"))
        if _wants_html(request):
            return error_page(request, failure)
        return JSONResponse(failure.as_dict(), status_code=500)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            FieldError(_field_name(tuple(e.get("loc", ()))), _message_zh(e), str(e.get("msg", "invalid")))
            for e in exc.errors()
        ]
        return await app_error(
            request, ValidationFailed(errors, "请求格式不正确", "The request is malformed")
        )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
    audit: AuditWriter | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    check_can_start(settings)
    dummy_hash(settings)  # made at start, so an unknown name's login costs one verify, no hash
    database = database or Database(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
    # Refuse to start without the audit chain's key (outside demo mode) rather than lose the audit.
    key = load_chain_key(settings)
    writer = audit or AuditWriter(
        database.engine, batch_size=settings.audit_batch_size, max_pending=settings.audit_max_pending
    )
    writer.key = key  # the app's settings say which key its chain is kept under, whoever made the writer
    anchors = anchor_path(settings)
    keeper = (
        AnchorKeeper(database.engine, anchors, settings.audit_anchor_seconds, key)
        if writer.engine is not None and anchors is not None
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from yilian.fhir.rules import SUPPORTED
        from yilian.fhir.validate import load_models

        load_models(SUPPORTED)
        writer.start()
        if keeper is not None:
            keeper.start()
        yield
        writer.stop()
        if keeper is not None:
            keeper.stop()  # after the writer: the last anchor covers what it wrote

    switch = settings.telemetry
    app = FastAPI(
        title="医联 Yilian",
        version="0.1.0",
        lifespan=lifespan,
        telemetry={"tracing": switch, "metrics": switch, "logs": switch},
        dependencies=[Depends(refuse_nul_characters)],
    )
    app.state.settings = settings
    app.state.db = database
    app.state.audit = writer
    app.state.clock = clock or SystemClock()
    app.state.sms = sender_from_setting(settings.sms_sender)
    app.state.fhir_scopes = TokenScopes()

    for router in routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)

    @app.get("/health", include_in_schema=False)
    def health() -> JSONResponse:
        """For a load balancer or a monitor: 503 while the audit writer fails or lags (no personal
        data: counts, ages and the last error's first line)."""
        audit = writer.health()
        return JSONResponse(
            {"status": "ok" if audit["ok"] else "degraded", "audit": audit},
            status_code=200 if audit["ok"] else 503,
            headers={"cache-control": "no-store"},
        )

    app.add_middleware(DurableAudit, writer=writer, timeout=settings.audit_wait_seconds)
    app.add_middleware(SecurityHeaders)
    return app


def routers() -> tuple[APIRouter, ...]:
    """Every router, in the order a request's path is matched against them: by domain, the front
    end's catch-all last. No path is served by two routers (tests/web/test_server_process.py)."""
    from yilian.chronic.api import router as chronic_api
    from yilian.diagnostics.api import router as diagnostics_api
    from yilian.encounters.api import router as encounters_api
    from yilian.evaluation.api import router as evaluation_api
    from yilian.evaluation.conduct_api import router as conduct_api
    from yilian.evaluation.tasks_api import router as tasks_router
    from yilian.family_doctor.api import router as family_doctor_api
    from yilian.fhir.api import router as fhir_api
    from yilian.fhir.bulk_api import router as fhir_bulk
    from yilian.indicators.api import router as indicators_router
    from yilian.insurance.api import router as insurance_api
    from yilian.pathways.api import router as pathways_api
    from yilian.portal.api import router as portal_api
    from yilian.portal.booking_api import router as portal_booking_api
    from yilian.portal.phone_api import router as portal_phone_api
    from yilian.referral.api import router as referral_api
    from yilian.registry.api import router as registry_api
    from yilian.residents.api import router as residents_api
    from yilian.scheduling.api import router as scheduling_api
    from yilian.web.auth_api import router as auth_api
    from yilian.web.frontend import router as frontend
    from yilian.web.views import router as pages

    return (
        auth_api,
        chronic_api,
        diagnostics_api,
        encounters_api,
        evaluation_api,
        tasks_router,
        conduct_api,
        family_doctor_api,
        fhir_bulk,  # before fhir_api, whose /fhir/{type}/{id} would take /fhir/Patient/$export
        fhir_api,
        indicators_router,
        insurance_api,
        pathways_api,  # before scheduling_api, whose /bookings/{booking_id}/{action} would take check_in
        portal_api,
        portal_phone_api,
        portal_booking_api,
        referral_api,
        registry_api,
        residents_api,
        scheduling_api,
        frontend,
        pages,
    )


class SecurityHeaders:
    """Adds the security headers to every response.

    - `Cache-Control: no-store` on everything but the static assets: pages, the JSON API, FHIR and
      the portal all carry personal data, and a rule by prefix had already missed some.
    - A Content-Security-Policy on HTML pages: scripts only from the platform itself, and inline
      scripts only with this response's nonce (`request.state.csp_nonce`, given to templates as
      `csp_nonce` by `render`). Not on the OpenAPI documentation pages, which load Swagger UI. Fonts
      may be data: URLs: Vant's icon font is inlined in its stylesheet (the phone pages' icons).
    - HSTS when the cookies are Secure, i.e. the platform is served over HTTPS.

    A plain ASGI wrapper, not `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request through an extra task group and a streamed body, which cost a third of a booking's CPU.
    """

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    )
    CACHEABLE_PREFIXES = ("/static/",)
    JSON_PREFIXES = ("/api/", "/fhir/")
    UNPOLICED_PAGES = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
    POLICY = (
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    HSTS = b"max-age=31536000; includeSubDomains"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        cacheable = path.startswith(self.CACHEABLE_PREFIXES)
        nonce = ""
        if not path.startswith(self.JSON_PREFIXES):  # the booking hot path makes no nonce
            nonce = secrets.token_urlsafe(16)
            scope.setdefault("state", {})["csp_nonce"] = nonce
        app = scope.get("app")
        secure = bool(app is not None and app.state.settings.secure_cookies)

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.HEADERS if n not in present]
                if not cacheable and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if (
                    nonce
                    and content_type.startswith(b"text/html")
                    and path not in self.UNPOLICED_PAGES
                    and b"content-security-policy" not in present
                ):
                    headers.append((b"content-security-policy", self.POLICY.format(nonce=nonce).encode()))
                if secure and b"strict-transport-security" not in present:
                    headers.append((b"strict-transport-security", self.HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
