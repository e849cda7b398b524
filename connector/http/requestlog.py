"""Pure ASGI middleware: a request id for every request, one access-log line per response, and
the last line of defence: an unexpected exception is logged with the request id and answered
with a generic 500 problem document, or a 503 when the database cannot be reached right now."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.http.problem import internal_error_response, store_unavailable_response
from connector.store.database import store_unavailable

log = logging.getLogger("etds.access")
errors_log = logging.getLogger("etds.http")

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestLogMiddleware:
    """Adds ``X-Request-Id`` (kept from the client when well-formed) and logs each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            status = 500
            path = str(scope.get("path", ""))
            where = {"request_id": request_id.decode(), "path": path}
            if store_unavailable(error):
                errors_log.warning("database unavailable", exc_info=error, extra=where)
                response = store_unavailable_response(path)
            else:
                errors_log.exception("unhandled error", extra=where)
                response = internal_error_response(path)
            if not response_started:
                await response(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            log.info(
                "request",
                extra={
                    "request_id": request_id.decode(),
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                },
            )


def _incoming_request_id(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.match(value):
            return bytes(value)
    return None
