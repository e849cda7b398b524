"""Pure ASGI middleware: a path with a trailing ``/`` is the same resource as without it.

DSP 2025-1 asks endpoints to accept paths with and without a trailing ``/`` (peers join their
callback address and the path in both ways). Starlette's own answer to ``/x/`` is a 307 redirect
to ``/x``, which a peer that does not follow redirects (as this node's own client does not) takes
as a failure; here the path is simply read without its trailing slashes.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class TrailingSlashMiddleware:
    """Route ``/a/b/`` as ``/a/b`` (the root ``/`` stays as it is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                # ``raw_path`` stays as called: a DPoP proof's ``htu`` names that URL.
                scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)
