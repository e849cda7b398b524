"""Errors of the data sources, each a :class:`connector.errors.ConnectorError` with a status hint.

    SourceError                      anything that went wrong locating or reading asset data
     ├── DataAddressError (400)      the data address is malformed; ``errors`` names each field
     ├── SourceQueryError (400)      a projection or filter that does not fit the source's schema
     ├── SourceAccessDenied (403)    the address points outside the configured data roots
     ├── SourceNotFound (404)        no such file, folder, object or prefix; or no data files in it
     ├── SourceFormatError (422)     corrupt or unreadable data, schemas that differ across files
     └── SourceUnavailable (503)     the object store or the disk failed (network, permissions, I/O)

``detail`` only repeats what the data address already says (never a resolved server path, an
endpoint or a credential); ``log_detail`` carries the underlying Arrow / OS message for the logs.
"""

from __future__ import annotations

import pyarrow as pa

from connector.errors import BadRequest, ConnectorError, Forbidden, NotFound, ServiceUnavailable


class SourceError(ConnectorError):
    """Base of every error raised by :mod:`connector.sources`."""

    status = 500
    slug = "source-error"
    title = "Source Error"


class DataAddressError(SourceError, BadRequest):
    """A data address that cannot be parsed: unknown type or format, missing or mistyped field."""

    status = 400
    slug = "invalid-data-address"
    title = "Invalid Data Address"


class SourceQueryError(SourceError, BadRequest):
    """A request for columns or rows that the source cannot answer (unknown column, bad filter)."""

    status = 400
    slug = "invalid-source-query"
    title = "Invalid Source Query"


class SourceAccessDenied(SourceError, Forbidden):
    """A local path that resolves (after ``..`` and symlinks) outside every configured data root."""

    status = 403
    slug = "source-access-denied"
    title = "Source Access Denied"


class SourceNotFound(SourceError, NotFound):
    """Nothing at the address, or a folder / prefix without any data file of the format."""

    status = 404
    slug = "source-not-found"
    title = "Source Not Found"


class SourceFormatError(SourceError):
    """Data that cannot be decoded as the declared format, or files whose schemas disagree."""

    status = 422
    slug = "source-format-error"
    title = "Unreadable Source Data"


class SourceUnavailable(SourceError, ServiceUnavailable):
    """The storage behind the source failed: object store unreachable, permission or I/O error."""

    status = 503
    slug = "source-unavailable"
    title = "Source Unavailable"


#: What reading Arrow data may raise that :func:`translate_arrow_error` turns into a SourceError.
#: (Memory exhaustion and programming errors are deliberately left alone.)
ARROW_READ_ERRORS: tuple[type[Exception], ...] = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    pa.ArrowIndexError,
    pa.ArrowKeyError,
    OSError,
)

# Arrow raises a plain OSError both for corrupt data ("Corrupt snappy compressed data") and for
# storage failures; these markers of the latter come from the AWS SDK and from errno-based I/O
# errors.
_STORAGE_FAILURE_MARKERS = ("AWS Error", "[errno ", "curlCode")


def translate_arrow_error(exc: Exception, *, source: str) -> SourceError:
    """The :class:`SourceError` for an exception Arrow raised while reading ``source``.

    ``source`` is how the address names the data (a path as written by the administrator, or an
    ``s3://bucket/key`` string); Arrow's own message goes to ``log_detail`` only, since it may
    contain resolved paths or endpoints.
    """
    if isinstance(exc, SourceError):
        return exc
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, FileNotFoundError):
        return SourceNotFound(
            f"{source}: a data file disappeared while reading", log_detail=message
        )
    if isinstance(exc, PermissionError) or (
        isinstance(exc, OSError) and any(m in str(exc) for m in _STORAGE_FAILURE_MARKERS)
    ):
        return SourceUnavailable(f"{source}: the storage could not be read", log_detail=message)
    return SourceFormatError(f"{source}: the data cannot be decoded", log_detail=message)
