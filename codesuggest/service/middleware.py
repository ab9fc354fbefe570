"""One ASGI middleware for what every request needs, before FastAPI reads anything:

- a request under ``/v1/`` that carries a body is authenticated first: without a valid key it gets its 401
  before a byte of the body is read;
- request bodies are counted as they stream in (chunked or not): 413 as soon as the limit is passed, and a
  ``Content-Length`` over the limit is refused before reading; a NUL in the path is a 404, in the query a 422;
- response headers: ``X-Content-Type-Options: nosniff`` on every response, ``Cache-Control: no-store``
  on all but ``/static``;
- the access log, written before the response starts: a request whose access cannot be recorded gets a 500
  instead of its data (the record of access is part of the access);
- request metrics, and a last-resort 500 that never logs exception messages (they may quote note text) and
  logs the path escaped (a newline in it would forge a log line).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import Any

from sqlalchemy import insert
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..storage.orm import AccessLogEntry, AccessLogNote
from .errors import error_body
from .escaping import for_log
from .keys import Principal, authenticate

log = logging.getLogger(__name__)

STATE_PRINCIPAL = "principal"  # scope["state"] keys the routes set for the access log
STATE_NOTE_ID = "note_id"
STATE_DISCLOSED = "disclosed_note_ids"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` the moment a body passes the limit; FastAPI passes HTTPExceptions through."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body over the limit of {limit} bytes")


class AccessNotRecorded(Exception):
    """Raised into the app when its response was replaced by a 500: stops it producing what will not be sent."""


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500, "sent": False}
        service = _service(scope)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _with_security_headers(scope["path"], message.get("headers", []))}
                if not await self._record_access(scope, service, message["status"]):
                    body = error_body(500, "internal server error: the access could not be recorded")
                    await _send_json(send, 500, body, {"cache-control": "no-store", "x-content-type-options": "nosniff"})
                    status["code"], status["sent"] = 500, True
                    raise AccessNotRecorded  # the app's response is not sent: stop the app (an export mid-stream)
                status["code"], status["sent"] = message["status"], True
            await send(message)

        try:
            refusal = await self._refusal(scope, service)
            if refusal:
                await _send_json(send_wrapper, *refusal)
            else:
                await self.app(scope, self._counting(receive), send_wrapper)
        except AccessNotRecorded:
            pass  # answered with a 500 already
        except BodyTooLarge as exc:
            if not status["sent"]:
                await _send_json(send_wrapper, 413, error_body(413, exc.detail))
        except Exception as exc:
            # Type and frames, never the message: it may quote note text; the path escaped: it is the client's.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unhandled %s on %s %s\n%s", type(exc).__name__, scope["method"], for_log(scope["path"]), frames)
            if not status["sent"]:
                await _send_json(send_wrapper, 500, error_body(500, "internal server error"))
        finally:
            self._metrics(scope, service, status["code"], time.perf_counter() - started)

    async def _refusal(self, scope: Scope, service: Any) -> tuple[int, dict, dict[str, str]] | None:
        """(status, body, headers) of a request refused before the app sees it, or None."""
        if "\x00" in scope["path"]:
            return 404, error_body(404, "not found"), {}
        if b"%00" in scope.get("query_string", b""):
            return 422, error_body(422, "the query string contains a NUL character"), {}
        if scope["path"].startswith("/v1/") and _declares_body(scope) and service is not None:
            principal = await run_in_threadpool(_authenticate, service.db, _bearer_token(scope))
            if principal is None:
                message = "missing or invalid API key (send 'Authorization: Bearer <key>')"
                return 401, error_body(401, message), {"www-authenticate": "Bearer"}
            scope.setdefault("state", {})[STATE_PRINCIPAL] = principal  # get_principal uses it
        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            return 413, error_body(413, f"request body of {length} bytes is over the limit of {self.max_body_bytes} bytes"), {}
        return None

    def _counting(self, receive: Receive) -> Receive:
        """``receive`` that counts body bytes as they arrive and raises the moment they pass the limit."""
        received = 0
        limit = self.max_body_bytes

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return counting_receive

    def _metrics(self, scope: Scope, service: Any, status: int, elapsed: float) -> None:
        if service is None:
            return
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        service.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
        service.metrics.latency.labels(method=method, route=route).observe(elapsed)

    async def _record_access(self, scope: Scope, service: Any, status: int) -> bool:
        """Write the access-log row of a ``/v1/`` request; False when that failed."""
        if service is None or not scope["path"].startswith("/v1/"):
            return True
        state = scope.get("state") or {}
        principal = state.get(STATE_PRINCIPAL)
        note_id = state.get(STATE_NOTE_ID) or (scope.get("path_params") or {}).get("note_id")
        disclosed = state.get(STATE_DISCLOSED)
        route = scope.get("route")
        entry = AccessLogEntry(
            key_name=principal.name if principal else None,
            role=principal.role.value if principal else None,
            action=getattr(route, "name", None) or "unmatched",
            method=scope["method"][:8],
            path=for_log(scope["path"], 500),
            note_id=for_log(note_id, 32) if note_id else None,
            status_code=status,
            query=for_log(scope.get("query_string", b"").decode("latin-1"), 1000) or None,
            disclosed=len(disclosed) if disclosed is not None else None,
        )
        try:
            await run_in_threadpool(_write, service.db, entry, disclosed or ())
        except Exception as exc:
            log.error("access log write failed (%s): %s %s answered %s instead of %d",
                      type(exc).__name__, scope["method"], for_log(scope["path"], 200), 500, status)
            return False
        return True


def _service(scope: Scope) -> Any:
    return getattr(getattr(scope.get("app"), "state", None), "service", None)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _declares_body(scope: Scope) -> bool:
    return bool(_content_length(scope)) or _header(scope, b"transfer-encoding") is not None


def _bearer_token(scope: Scope) -> str:
    scheme, _, token = (_header(scope, b"authorization") or b"").decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authenticate(db: Any, token: str) -> Principal | None:
    if not token:
        return None
    with db.sessions() as session:
        return authenticate(session, token)


def _with_security_headers(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    extra = [(b"x-content-type-options", b"nosniff")]
    if not path.startswith("/static/"):
        extra.append((b"cache-control", b"no-store"))
    return list(headers) + [(name, value) for name, value in extra if name not in present]


def _write(db: Any, entry: AccessLogEntry, disclosed: Any) -> None:
    with db.write_turn(), db.session() as session:
        session.add(entry)
        if disclosed:
            session.flush()
            session.execute(insert(AccessLogNote), [{"access_log_id": entry.id, "note_id": n} for n in disclosed])


async def _send_json(send: Send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        + [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    })
    await send({"type": "http.response.body", "body": payload})
