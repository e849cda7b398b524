"""Pure ASGI middleware capping the size of request bodies before anything parses them.

A declared ``Content-Length`` over the cap is refused at once; a chunked body is counted while it
streams and cut as soon as it passes the cap: the client gets the 413 problem document and the
application sees a disconnected client (whatever it still raises or writes is dropped). Either way
the application never sees the oversized body.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.http.problem import problem_response

Refusal = Callable[[str, int, str], Response | None]
"""``(path, status, detail)`` → the answer for that path (None: the problem document)."""


class BodySizeLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 (a problem document, or what
    ``refusal`` answers for the path, e.g. a protocol's own error message)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, refusal: Refusal | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._send_too_large(scope, send)
            return

        received = 0
        response_started = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer now and tell the application the client went away.
                    rejected = True
                    if not response_started:
                        await self._send_too_large(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if rejected:
                return  # the 413 answer has been sent; drop what the application still writes
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    async def _send_too_large(self, scope: Scope, send: Send) -> None:
        detail = _detail(self.max_bytes)
        response = self.refusal(scope["path"], 413, detail) if self.refusal else None
        await _send_closing(
            send,
            response
            or problem_response(
                status=413, slug="payload-too-large", title="Payload Too Large", detail=detail
            ),
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _detail(max_bytes: int) -> str:
    return f"the request body exceeds the limit of {max_bytes} bytes"


async def _send_closing(send: Send, response: Response) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [*response.raw_headers, (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": bytes(response.body)})
