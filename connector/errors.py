"""Errors the node raises on purpose, each carrying the HTTP status it maps to.

    ConnectorError (500)
     ├── BadRequest (400)            invalid input: JSON, JSON-LD, validation, queries
     │    └── RequestTooComplex (400)  JSON nested too deep or with too many nodes
     ├── Unauthorized (401)          missing or wrong credential
     ├── Forbidden (403)             a valid credential without the right
     ├── NotFound (404)              unknown resource (or one the caller may not see)
     ├── Conflict (409)              duplicate id, stale update, still referenced
     ├── PayloadTooLarge (413)       request body over the configured cap
     ├── UnprocessableData (422)     the data behind a resource cannot be read as asked
     ├── UnsupportedMediaType (415)  not JSON
     ├── BadGateway (502)            a peer answered wrongly (or not at all)
     └── ServiceUnavailable (503)    a dependency (the database) is down

``detail`` is safe to show to the caller; ``log_detail`` (optional) only goes to the logs. The
management API renders these as RFC 9457 problem documents; the protocol API (a later issue) as DSP
error messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where (a dotted path or JSON pointer) and what is wrong."""

    location: str
    message: str


class ConnectorError(Exception):
    """Base of every deliberate error; ``status`` is the HTTP status hint."""

    status = 500
    slug = "internal-error"
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        log_detail: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        self.log_detail = log_detail


class BadRequest(ConnectorError):
    status = 400
    slug = "bad-request"
    title = "Bad Request"


class RequestTooComplex(BadRequest):
    slug = "request-too-complex"
    title = "Request Too Complex"


class Unauthorized(ConnectorError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(ConnectorError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(ConnectorError):
    status = 404
    slug = "not-found"
    title = "Not Found"


class Conflict(ConnectorError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(ConnectorError):
    status = 413
    slug = "payload-too-large"
    title = "Payload Too Large"


class UnprocessableData(ConnectorError):
    status = 422
    slug = "unprocessable-data"
    title = "Unprocessable Data"


class UnsupportedMediaType(ConnectorError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported Media Type"


class BadGateway(ConnectorError):
    status = 502
    slug = "bad-gateway"
    title = "Bad Gateway"


class ServiceUnavailable(ConnectorError):
    status = 503
    slug = "service-unavailable"
    title = "Service Unavailable"
