"""Serves the built front end (frontend/dist, built by scripts/setup): the staff workstation under
/app/ and the residents' phone pages under /m/. Files are looked up by name in the build folder only;
any other path under /app/ (or /m/) is a screen of the single-page app, so it gets index.html (or
portal.html) and the app's router decides (decision 0026). Both entries share one build and its
hashed assets, served from /app/assets/. The old server-rendered portal's addresses (/portal/…)
redirect to the phone pages, so residents' bookmarks keep working."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from yilian.config import PROJECT_ROOT

router = APIRouter(include_in_schema=False)

# Hashed asset names never change content: cache them for a year; index.html always revalidates.
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
_FRESH = {"Cache-Control": "no-cache"}


def dist_dir(request: Request) -> Path:
    configured = request.app.state.settings.frontend_dist
    return Path(configured) if configured else PROJECT_ROOT / "frontend" / "dist"


@router.get("/app")
def staff_root() -> Response:
    return Response(status_code=308, headers={"Location": "/app/"})


@router.get("/app/{path:path}")
def staff_app(request: Request, path: str) -> Response:
    return _serve(request, path, "index.html")


@router.get("/m")
def phone_root() -> Response:
    return Response(status_code=308, headers={"Location": "/m/"})


@router.get("/m/{path:path}")
def phone_app(request: Request, path: str) -> Response:
    return _serve(request, path, "portal.html")


# The server-rendered portal's pages and where each now lives in the phone app.
_OLD_PORTAL = {"": "", "login": "login", "record": "record", "booking": "booking", "access": "access"}


@router.get("/portal")
@router.get("/portal/{path:path}")
def old_portal(request: Request, path: str = "") -> Response:
    target = "/m/" + _OLD_PORTAL.get(path.strip("/"), "")
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(target, status_code=301)


def _serve(request: Request, path: str, entry: str) -> Response:
    dist = dist_dir(request).resolve()
    index = dist / entry
    if not index.is_file():
        return HTMLResponse(
            "<h1>前端尚未构建</h1><p>请运行 scripts/setup（或 scripts/run）构建前端。</p>"
            "<p>The front end is not built: run scripts/setup.</p>",
            status_code=503,
        )
    if path.startswith("assets/"):
        candidate = (dist / path).resolve()
        if candidate.is_file() and candidate.is_relative_to(dist / "assets"):
            return FileResponse(candidate, headers=_IMMUTABLE)
        return Response(status_code=404)
    return FileResponse(index, headers=_FRESH)
