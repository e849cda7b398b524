"""Data addresses: where an asset's data lives, as administrators store it on the asset.

A data address is plain JSON without any secret::

    {"type": "LocalFile", "path": "barometer/", "format": "parquet", "partitioning": "hive"}
    {"type": "S3", "bucket": "etds", "key": "barometer/", "format": "parquet", "store": "default"}

``type`` selects the model. ``format`` is ``parquet``, ``csv`` or ``arrow`` (the Arrow IPC *file*
format, ``.arrow`` / ``.feather``). ``partitioning`` is ``hive`` (default: ``name=value`` folders
become columns) or ``none``. CSV alone accepts ``delimiter`` (one character, default ``,``),
``encoding`` (only UTF-8) and ``column_types``, a map from column name to one of
:data:`CSV_COLUMN_TYPES`: without it, CSV types are inferred from the first block of the first
file, which reads codes such as ``"01"`` as the integer 1. Unknown keys (``@type``, comments...)
are ignored; known keys are typed strictly, so ``"partitioning": 1`` is an error, not a guess.

Parsing checks the shape only. Whether a local path stays inside the data roots, or whether the
named object store exists, depends on the node's configuration and is checked when the source is
opened (:func:`connector.sources.open_source`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from connector.errors import FieldError
from connector.sources.config import STORE_NAME_PATTERN
from connector.sources.errors import DataAddressError

Format = Literal["parquet", "csv", "arrow"]
Partitioning = Literal["hive", "none"]
CsvColumnType = Literal[
    "string", "dictionary", "int32", "int64", "float64", "boolean", "date", "timestamp"
]
#: The types a CSV column may be declared with (``dictionary`` is dictionary-encoded text).
CSV_COLUMN_TYPES: tuple[str, ...] = get_args(CsvColumnType)
ColumnName = Annotated[str, Field(min_length=1, max_length=256)]

# Bucket names as S3 (and MinIO, Ceph...) accept them: 3-63 lowercase letters, digits, dots, dashes.
_BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})


class _Address(BaseModel):
    """Fields every data address has; CSV options are refused for the other formats."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    format: Format
    partitioning: Partitioning = "hive"
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] | None = None
    encoding: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    column_types: Annotated[dict[ColumnName, CsvColumnType], Field(max_length=1000)] | None = None

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("format", "csv") != "csv":  # unknown format: reported alone
            raise ValueError("only applies to format 'csv'")
        if value in ('"', "\n", "\r"):
            raise ValueError("cannot be a quote or a line break")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("format", "csv") != "csv":  # unknown format: reported alone
            raise ValueError("only applies to format 'csv'")
        if value.lower() not in _UTF8_NAMES:
            raise ValueError("only 'utf-8' is supported")
        return "utf-8"

    @field_validator("column_types")
    @classmethod
    def _column_types(
        cls, value: dict[str, CsvColumnType] | None, info: ValidationInfo
    ) -> dict[str, CsvColumnType] | None:
        if value is not None and info.data.get("format", "csv") != "csv":
            raise ValueError("only applies to format 'csv'")
        return value

    @property
    def csv_delimiter(self) -> str:
        """The delimiter CSV data is parsed with."""
        return self.delimiter if self.delimiter is not None else ","


class LocalFileAddress(_Address):
    """A file or folder on the node's disk, inside one of the configured data roots."""

    type: Literal["LocalFile"]
    path: Annotated[str, Field(min_length=1, max_length=4096)]

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @property
    def location(self) -> str:
        """How errors and descriptions name this data: the path as the administrator wrote it."""
        return self.path


class S3Address(_Address):
    """An object or a prefix in a bucket of a configured S3-compatible object store."""

    type: Literal["S3"]
    bucket: Annotated[str, Field(max_length=63)]
    key: Annotated[str, Field(min_length=1, max_length=1024)]
    store: Annotated[str, Field(max_length=64)] = "default"

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET_PATTERN.fullmatch(value):
            raise ValueError("must be 3 to 63 lowercase letters, digits, dots or dashes")
        return value

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        if not STORE_NAME_PATTERN.fullmatch(value):
            raise ValueError("must be an object-store name: letters, digits, '_', '.' or '-'")
        return value

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if _CONTROL_CHARACTERS.search(value):
            raise ValueError("must not contain control characters")
        if value.startswith("/"):
            raise ValueError("must not start with '/'")
        segments = value.removesuffix("/").split("/")
        if any(segment in ("", ".", "..") for segment in segments):
            raise ValueError("must not contain empty, '.' or '..' segments")
        return value

    @property
    def location(self) -> str:
        """How errors and descriptions name this data (the endpoint is not part of it)."""
        return f"s3://{self.bucket}/{self.key}"


DataAddress = Annotated[LocalFileAddress | S3Address, Field(discriminator="type")]

_DATA_ADDRESS: TypeAdapter[LocalFileAddress | S3Address] = TypeAdapter(DataAddress)
_TAGS = frozenset({"LocalFile", "S3"})


def _field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        if loc and loc[0] in _TAGS:  # a discriminated union puts the tag first
            loc = loc[1:]
        message = error["msg"]
        if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
            loc = ["type"]
            message = "must be 'LocalFile' or 'S3'"
        elif error["type"] == "value_error":
            message = str(error.get("ctx", {}).get("error", message))
        location = ".".join(str(part) for part in loc) or "(address)"
        errors.append(FieldError(location=location, message=message))
    return errors


def _refuse(errors: list[FieldError]) -> DataAddressError:
    summary = "; ".join(f"{e.location}: {e.message}" for e in errors)
    return DataAddressError(f"invalid data address: {summary}", errors=errors)


def parse_data_address(obj: Mapping[str, Any]) -> LocalFileAddress | S3Address:
    """The typed data address for ``obj``; :class:`DataAddressError` names every invalid field."""
    if not isinstance(obj, Mapping):
        raise _refuse([FieldError(location="(address)", message="expected a JSON object")])
    try:
        return _DATA_ADDRESS.validate_python(dict(obj))
    except ValidationError as exc:
        raise _refuse(_field_errors(exc)) from None
