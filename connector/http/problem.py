"""RFC 9457 problem documents for the management API, and the exception handlers that emit them.

Problem types are URNs under ``urn:etds:problem:`` (listed in docs/management-api.md). Unexpected
exceptions become a generic 500 problem (:func:`internal_error_response`): the peer never sees a
stack trace, the log does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from connector.errors import ConnectorError, FieldError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:etds:problem:"

log = logging.getLogger("etds.http")

STORE_UNAVAILABLE = "the node's database cannot be reached right now; retry later"
RETRY_AFTER_SECONDS = 2


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [{"location": e.location, "message": e.message} for e in errors]
    return ErrorJSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


class ErrorJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error that quotes what the client sent
    renders whatever that was (even a lone surrogate, which UTF-8 cannot encode)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=True, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("ascii")


def _connector_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConnectorError)
    if exc.log_detail or exc.status >= 500:
        log.warning(
            "request failed",
            extra={"status": exc.status, "detail": exc.detail, "log_detail": exc.log_detail},
        )
    headers = {"WWW-Authenticate": 'ApiKey header="X-Api-Key"'} if exc.status == 401 else None
    return problem_response(
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=headers,
    )


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(".".join(str(p) for p in err.get("loc", ())), str(err.get("msg", "invalid")))
        for err in exc.errors()
    ]
    return problem_response(
        status=400,
        slug="validation-error",
        title="Bad Request",
        detail="the request is invalid",
        instance=request.url.path,
        errors=errors,
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    title = str(exc.detail) if isinstance(exc.detail, str) else "HTTP error"
    return problem_response(
        status=exc.status_code,
        slug=slug,
        title=title,
        detail=title,
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


def internal_error_response(path: str) -> JSONResponse:
    """The answer to an unexpected exception: generic, the details go to the log only."""
    return problem_response(
        status=500,
        slug="internal-error",
        title="Internal Server Error",
        detail="the node could not handle this request; the operator's logs have the details",
        instance=path,
    )


def store_unavailable_response(path: str) -> JSONResponse:
    """The answer when the database cannot be reached (down, restarting, every connection busy):
    the request may succeed if sent again later."""
    return problem_response(
        status=503,
        slug="service-unavailable",
        title="Service Unavailable",
        detail=STORE_UNAVAILABLE,
        instance=path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn deliberate errors into problem documents.

    Unexpected exceptions are answered (and logged with the request id) by
    :class:`connector.http.requestlog.RequestLogMiddleware`.
    """
    app.add_exception_handler(ConnectorError, _connector_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
