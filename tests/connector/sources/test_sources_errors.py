"""Source errors: status hints, and Arrow exceptions sorted into the right kind."""

from __future__ import annotations

import pyarrow as pa
import pytest

from connector.errors import ConnectorError
from connector.sources import (
    DataAddressError,
    SourceAccessDenied,
    SourceError,
    SourceFormatError,
    SourceNotFound,
    SourceQueryError,
    SourceUnavailable,
)
from connector.sources.errors import translate_arrow_error


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (DataAddressError, 400),
        (SourceQueryError, 400),
        (SourceAccessDenied, 403),
        (SourceNotFound, 404),
        (SourceFormatError, 422),
        (SourceUnavailable, 503),
    ],
)
def test_status_hints(kind: type[SourceError], status: int) -> None:
    error = kind("x")

    assert error.status == status
    assert isinstance(error, ConnectorError)
    assert error.slug.startswith(("source-", "invalid-"))


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (FileNotFoundError(2, "No such file"), SourceNotFound),
        (PermissionError(13, "Permission denied"), SourceUnavailable),
        (
            OSError(
                "When reading information for key 'k' in bucket 'b': AWS Error NETWORK_CONNECTION"
            ),
            SourceUnavailable,
        ),
        (
            OSError("Error reading bytes from file. Detail: [errno 5] Input/output error"),
            SourceUnavailable,
        ),
        (OSError("Corrupt snappy compressed data."), SourceFormatError),
        (pa.ArrowInvalid("Parquet magic bytes not found in footer"), SourceFormatError),
        (pa.ArrowTypeError("bad type"), SourceFormatError),
        (pa.ArrowNotImplementedError("unsupported encoding"), SourceFormatError),
    ],
)
def test_translate_arrow_error(exc: Exception, kind: type[SourceError]) -> None:
    error = translate_arrow_error(exc, source="s3://etds/barometer/")

    assert type(error) is kind
    assert error.detail.startswith("s3://etds/barometer/: ")
    assert str(exc) not in error.detail
    assert error.log_detail is not None
    assert str(exc) in error.log_detail


def test_source_errors_pass_through() -> None:
    original = SourceNotFound("x: gone")

    assert translate_arrow_error(original, source="y") is original
