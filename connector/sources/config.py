"""What the sources need to know about the node: data roots, object-store profiles, batch sizing.

These are plain frozen dataclasses so that :mod:`connector.sources` does not depend on the settings
module; the application maps ``Settings.storage`` onto them once at start-up. Secrets (object-store
keys) live here, never in a data address, and are kept out of ``repr`` so they cannot reach a log
line by accident.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

#: Names of object-store profiles (``S3.store`` in a data address).
STORE_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

MAX_BATCH_ROWS = 16 * 1024 * 1024
MAX_READAHEAD = 16


@dataclass(frozen=True)
class ObjectStoreConfig:
    """One S3-compatible object store that data addresses refer to by name.

    Credentials: both ``access_key`` and ``secret_key``, or ``anonymous=True`` for public buckets,
    or neither, in which case the AWS SDK's default chain applies (``AWS_*`` environment
    variables, ``~/.aws``, then the instance metadata service of the cloud the node runs in).
    ``endpoint_override`` is ``host[:port]`` (MinIO, Ceph, Garage, a cloud's S3 endpoint); the
    scheme goes in ``scheme``. Timeouts are in seconds (the AWS SDK honours ``request_timeout``
    on Windows and macOS only; on Linux it aborts transfers that stall instead).
    ``tls_ca_file`` is a PEM bundle for endpoints signed by a private certificate authority.
    """

    endpoint_override: str | None = None
    region: str = "us-east-1"
    scheme: Literal["https", "http"] = "https"
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    anonymous: bool = False
    connect_timeout: float = 5.0
    request_timeout: float = 30.0
    max_attempts: int = 3
    tls_ca_file: Path | None = None

    def __post_init__(self) -> None:
        if self.scheme not in ("https", "http"):
            raise ValueError(f"scheme must be 'https' or 'http', not {self.scheme!r}")
        if self.endpoint_override is not None and (
            not self.endpoint_override or "://" in self.endpoint_override
        ):
            raise ValueError(
                "endpoint_override must be host[:port] (put http/https in `scheme`), "
                f"not {self.endpoint_override!r}"
            )
        if not self.region:
            raise ValueError("region must not be empty")
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("access_key and secret_key must be given together")
        if self.anonymous and self.access_key is not None:
            raise ValueError("anonymous access cannot be combined with access_key/secret_key")
        if not (0 < self.connect_timeout <= 300 and 0 < self.request_timeout <= 3600):
            raise ValueError("connect_timeout must be in (0, 300] and request_timeout in (0, 3600]")
        if not 1 <= self.max_attempts <= 10:
            raise ValueError("max_attempts must be between 1 and 10")


def _positive(name: str, value: int, upper: int) -> None:
    if not 1 <= value <= upper:
        raise ValueError(f"{name} must be between 1 and {upper}, not {value}")


@dataclass(frozen=True)
class SourceConfig:
    """Where asset data may be read from, and how it is cut into record batches.

    ``data_roots``: local folders that ``LocalFile`` addresses must stay inside (after ``..`` and
    symlinks are resolved); a relative ``path`` in an address is relative to the first one. With
    no data root every local address is refused. Relative roots are made absolute against the
    working directory when the config is built.

    ``batch_rows`` is the default maximum number of rows per record batch. ``batch_readahead``
    is how many batches a background thread may decode ahead of the consumer (0: no thread,
    batches are decoded when asked for); with one batch being decoded and one being consumed,
    a stream holds about ``batch_readahead + 2`` batches, whatever the size of the source.
    """

    data_roots: tuple[Path, ...] = ()
    object_stores: Mapping[str, ObjectStoreConfig] = field(default_factory=dict)
    batch_rows: int = 131_072
    batch_readahead: int = 2

    def __post_init__(self) -> None:
        roots = tuple(Path(os.path.abspath(root)) for root in self.data_roots)
        object.__setattr__(self, "data_roots", roots)
        for name in self.object_stores:
            if not STORE_NAME_PATTERN.fullmatch(name):
                raise ValueError(
                    f"object store name {name!r} must match {STORE_NAME_PATTERN.pattern}"
                )
        object.__setattr__(self, "object_stores", MappingProxyType(dict(self.object_stores)))
        _positive("batch_rows", self.batch_rows, MAX_BATCH_ROWS)
        if not 0 <= self.batch_readahead <= MAX_READAHEAD:
            raise ValueError(f"batch_readahead must be between 0 and {MAX_READAHEAD}")
