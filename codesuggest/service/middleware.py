"""One ASGI middleware for what every request needs: a body-size guard, request metrics, the access log,
and a last-resort 500 that never logs exception messages (they may quote note text)."""

from __future__ import annotations

import json
import logging
import time
import traceback

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body
from .orm import AccessLogEntry

log = logging.getLogger(__name__)

UNLOGGED_PATHS = ("/healthz", "/readyz", "/metrics")


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        too_large = self._too_large(scope)
        try:
            if too_large:
                await _send_json(send_wrapper, 413, error_body(413, too_large))
            else:
                await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # Type and frames, never the message: it may quote note text.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unhandled %s on %s %s\n%s", type(exc).__name__, scope["method"], scope["path"], frames)
            if not status["sent"]:
                await _send_json(send_wrapper, 500, error_body(500, "internal server error"))
        finally:
            await self._record(scope, status["code"], time.perf_counter() - started)

    def _too_large(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return None
                if length > self.max_body_bytes:
                    return f"request body of {length} bytes is over the limit of {self.max_body_bytes} bytes"
        return None

    async def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        app = scope.get("app")
        service = getattr(getattr(app, "state", None), "service", None)
        if service is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        service.metrics.requests.labels(method=method, route=template, status=str(status)).inc()
        service.metrics.latency.labels(method=method, route=template).observe(elapsed)
        if not scope["path"].startswith("/v1/"):
            return
        state = scope.get("state") or {}
        principal = state.get("principal")
        note_id = state.get("note_id") or (scope.get("path_params") or {}).get("note_id")
        entry = AccessLogEntry(
            key_name=principal.name if principal else None,
            role=principal.role.value if principal else None,
            action=getattr(route, "name", None) or "unmatched",
            method=method,
            path=scope["path"][:500],
            note_id=str(note_id)[:32] if note_id else None,
            status_code=status,
        )
        try:
            await run_in_threadpool(_write, service.db, entry)
        except Exception as exc:  # the access log must not turn a served request into an error
            log.error("access log write failed: %s", type(exc).__name__)


def _write(db, entry: AccessLogEntry) -> None:
    with db.write_turn(), db.session() as session:
        session.add(entry)


async def _send_json(send: Send, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
    })
    await send({"type": "http.response.body", "body": payload})
