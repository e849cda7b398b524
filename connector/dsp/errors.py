"""DSP error messages: every error on a protocol route is answered with the error message type
of its protocol (``CatalogError``, ``ContractNegotiationError``, ``TransferError``).

A router declares its error type by using :func:`dsp_route_class`; the route class catches every
exception raised while handling a request (including in dependencies such as the token check)
and renders it. Peers see a generic reason; the log gets the detail. An unexpected exception is
a 500 with a generic reason, logged with its traceback; one saying the store cannot be reached
right now (see :func:`connector.store.database.store_unavailable`) is a 503 with ``Retry-After``.
A peer that goes away before its request body has arrived (it stopped, crashed, or gave up
waiting) is no error of ours: logged at INFO.

As every request ends, before its answer leaves, the route class settles the single use of its
DPoP proof when the handler left it pending (:func:`~connector.identity.dependency.
settle_pending_use`): a replayed proof is answered ``401`` whatever the handler did.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from catalog.contexts import DSPACE_CONTEXT_URL
from connector.dsp.version import BASE_PATH
from connector.errors import ConnectorError, NotFound
from connector.http.problem import RETRY_AFTER_SECONDS, STORE_UNAVAILABLE, ErrorJSONResponse
from connector.identity.dependency import SETTLES_PENDING_USE, settle_pending_use
from connector.store.database import store_unavailable

log = logging.getLogger("etds.dsp")

DSP_CONTEXT = [DSPACE_CONTEXT_URL]


def error_message(error_type: str, status: int, reasons: list[str], **extra: str) -> dict[str, Any]:
    """A DSP error message body (``code`` is the HTTP status as a string)."""
    body: dict[str, Any] = {"@context": DSP_CONTEXT, "@type": error_type, **extra}
    body["code"] = str(status)
    if reasons:
        body["reason"] = reasons
    return body


def error_response(
    error_type: str,
    status: int,
    reasons: list[str],
    *,
    headers: dict[str, str] | None = None,
    **extra: str,
) -> JSONResponse:
    return ErrorJSONResponse(
        error_message(error_type, status, reasons, **extra), status_code=status, headers=headers
    )


def _status_and_reason(exc: Exception) -> tuple[int, str, dict[str, str] | None]:
    if isinstance(exc, ConnectorError):
        if exc.log_detail or exc.status >= 500:
            log.warning(
                "protocol request refused",
                extra={"status": exc.status, "detail": exc.detail, "log_detail": exc.log_detail},
            )
        headers = {"WWW-Authenticate": "DPoP"} if exc.status == 401 else None
        return exc.status, exc.detail, headers
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return 400, f"invalid request: {where} {first.get('msg', '')}".strip(), None
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, str(exc.detail), None
    if isinstance(exc, ClientDisconnect):  # nobody reads the answer
        log.info("protocol request abandoned by the peer before its body arrived")
        return 400, "the request body did not arrive", None
    if store_unavailable(exc):  # the peer retries messages it could not deliver
        log.warning("protocol request failed: the store is unavailable", exc_info=exc)
        return 503, STORE_UNAVAILABLE, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    log.exception("unhandled error on a protocol route", exc_info=exc)
    return 500, "the connector could not handle this request", None


def dsp_route_class(
    error_type: str, pids: Callable[[Request], dict[str, str]] | None = None
) -> type[APIRoute]:
    """A route class rendering every error as ``error_type`` (with ``pids(request)`` fields)."""

    class DspRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            def render(request: Request, exc: Exception) -> Response:
                status, reason, headers = _status_and_reason(exc)
                extra = pids(request) if pids is not None else {}
                return error_response(error_type, status, [reason], headers=headers, **extra)

            async def handle(request: Request) -> Response:
                setattr(request.state, SETTLES_PENDING_USE, True)
                try:
                    response = await handler(request)
                except Exception as exc:  # every error becomes a DSP error message
                    response = render(request, exc)
                except BaseException:  # cancelled: no answer, but the proof is used up
                    with contextlib.suppress(Exception):
                        await settle_pending_use(request)
                    raise
                try:
                    await settle_pending_use(request)
                except Exception as exc:  # a replay: refused, whatever the handler answered
                    response = render(request, exc)
                return response

            return handle

    return DspRoute


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def answer_unknown_paths(router: APIRouter) -> None:
    """Route every other path under ``router``'s prefix (added last: routes match in order) to
    a 404 in the router's DSP error type, instead of the management API's problem document (an
    unknown path, or a method no endpoint of that path has)."""

    async def unknown(path: str) -> Response:
        raise NotFound(f"no protocol endpoint {router.prefix}/{path[:200]}")

    router.add_api_route(
        "/{path:path}", unknown, methods=ALL_METHODS, include_in_schema=False, name="unknown"
    )


UNKNOWN_PID = "urn:etds:unknown"
"""The pid a ContractNegotiationError names when the request did not make it known."""


def protocol_refusal(path: str, status: int, detail: str) -> Response | None:
    """A refusal made before routing (e.g. a body over the size limit, see
    :class:`connector.http.limits.BodySizeLimitMiddleware`) as the DSP error message of the
    endpoint ``path`` belongs to; None for a path outside the negotiation and catalogue
    endpoints (the problem document then)."""
    if path.startswith(BASE_PATH + "/negotiations/"):
        return error_response(
            "ContractNegotiationError",
            status,
            [detail],
            providerPid=UNKNOWN_PID,
            consumerPid=UNKNOWN_PID,
        )
    if path.startswith(BASE_PATH + "/catalog/"):
        return error_response("CatalogError", status, [detail])
    return None
