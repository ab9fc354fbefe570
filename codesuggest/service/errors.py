"""One error shape for every 4xx (and 5xx): ``{"error": {"status", "code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "too_many_requests", 500: "internal_error", 503: "unavailable",
}


class ApiError(Exception):
    """An error the API reports to the client with a status, a stable code and a readable message."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.code = code or _CODES.get(self.status, "error")
        self.details = details
        self.headers = headers


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str = "missing or invalid API key (send 'Authorization: Bearer <key>')"):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class Unprocessable(ApiError):
    status = 422


class Unavailable(ApiError):
    status = 503


MAX_MESSAGE_CHARS = 2_000  # a backstop: each echoed value is already cut (escaping.quoted)


def error_body(status: int, message: str, code: str | None = None, details: list[Any] | None = None) -> dict:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    return {"error": {"status": status, "code": code or _CODES.get(status, "error"), "message": message, "details": details}}


def _response(status: int, message: str, code: str | None = None, details=None, headers=None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, details), status_code=status, headers=headers)


def _clean_validation_errors(errors: list[dict]) -> list[dict]:
    """Validation details without the offending input: it may be note text (PHI) or megabytes long."""
    cleaned = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        loc = [part if len(part) <= 40 else part[:37] + "..." for part in loc]  # a dict key can be the input
        cleaned.append({"loc": loc, "msg": str(err.get("msg", ""))[:300], "type": str(err.get("type", ""))})
    return cleaned


def _summary(details: list[dict]) -> str:
    parts = []
    for err in details[:5]:
        where = ".".join(p for p in err["loc"] if p != "body") or "request"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    return "; ".join(parts) + more if parts else "invalid request"


_BODY_NOT_AN_OBJECT = {"model_attributes_type", "dict_type", "model_type"}


def _not_a_json_object(request: Request, details: list[dict]) -> bool:
    """The body was not read as a JSON object because it was sent as something else (plain text, a PDF, a form)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = content_type in ("", "application/json") or content_type.endswith("+json")
    return not is_json and any(d["loc"] == ["body"] and d["type"] in _BODY_NOT_AN_OBJECT for d in details)


def _send_json_message(request: Request) -> str:
    sent = request.headers.get("content-type", "").split(";")[0].strip()[:60]
    example = ' {"text": "..."} (and optionally "external_id", "setting")' if request.url.path.rstrip("/") == "/v1/notes" else ""
    return (f"the body was sent as {sent!r}: send a JSON object{example} with 'Content-Type: application/json'"
            "; a PDF or other document must be converted to text first")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _response(exc.status, exc.message, exc.code, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _clean_validation_errors(list(exc.errors()))
        if _not_a_json_object(request, details):
            return _response(415, _send_json_message(request), "unsupported_media_type", details)
        return _response(422, _summary(details), "validation_error", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "error")
        return _response(exc.status_code, message, headers=getattr(exc, "headers", None))
