"""The coder's and auditor's pages: public HTML shells whose scripts read and write the JSON API with the
API key the user signed in with (kept in ``sessionStorage``, sent as ``Authorization: Bearer``).

The pages carry no data: nothing here touches the database or needs a key. Templates and static files
live in ``service/web/`` and ship in the wheel as package data.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))  # autoescape on for .html
# Swagger UI and ReDoc, as the fastapi-offline package ships them (swagger-ui-bundle.js, swagger-ui.css,
# redoc.standalone.js, favicon.png)
DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"

# Scripts, styles and requests stay on this origin; no inline script, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, title: str, **context) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, {"title": title, **context})
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/", response_class=HTMLResponse, name="web.signin")
def signin(request: Request) -> HTMLResponse:
    return _page(request, "signin.html", "Sign in", page="signin")


@router.get("/coder", response_class=HTMLResponse, name="web.coder")
def coder_queue(request: Request) -> HTMLResponse:
    return _page(request, "coder.html", "Coder's queue", page="coder")


@router.get("/coder/notes/{note_id}", response_class=HTMLResponse, name="web.note")
def coder_note(request: Request, note_id: str) -> HTMLResponse:
    return _page(request, "note.html", "Code a note", page="note", note_id=note_id)


@router.get("/auditor", response_class=HTMLResponse, name="web.auditor")
def auditor(request: Request) -> HTMLResponse:
    return _page(request, "auditor.html", "Auditor's queue", page="auditor")


@router.get("/docs", response_class=HTMLResponse, name="web.docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI from the assets the service ships (FastAPI's default loads it from a CDN, with an inline script)."""
    return _page(request, "docs.html", "API")


@router.get("/redoc", response_class=HTMLResponse, name="web.redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc: its styles go into <style> elements (styled-components), which ``style-src 'self'`` blocks; they
    are allowed by a nonce fresh for each response, the one difference from the other pages' CSP."""
    nonce = secrets.token_urlsafe(16)
    response = _page(request, "redoc.html", "API", style_nonce=nonce)
    response.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'"
    )
    return response


def mount_web(app: FastAPI) -> None:
    """Add the pages, ``/static``, ``/docs``, ``/redoc`` and their assets (``/docs-assets``) to ``app``; create
    ``app`` with ``docs_url=None, redoc_url=None``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.mount("/docs-assets", StaticFiles(directory=str(DOCS_ASSETS_DIR)), name="docs-assets")
