"""The one place where :mod:`pyarrow.fs` filesystems are built for data sources.

Local data uses :class:`pyarrow.fs.LocalFileSystem`; Arrow IPC files are memory-mapped so that
record batches are served straight from the page cache without a copy. Object storage uses
:class:`pyarrow.fs.S3FileSystem` configured from an :class:`ObjectStoreConfig` profile: explicit
endpoint, scheme, region and credentials, bounded connect/request timeouts and retries, and never
bucket creation or deletion (the node only reads). The AWS SDK used by Arrow does not take proxies
from ``HTTP(S)_PROXY`` environment variables; a proxy would only be used if configured here, and
none is, so object-store traffic goes straight to the configured endpoint.
"""

from __future__ import annotations

from typing import Any

import pyarrow.fs as pafs

from connector.sources.config import ObjectStoreConfig


def local_filesystem(*, memory_map: bool) -> pafs.LocalFileSystem:
    """The local filesystem; ``memory_map`` for formats read zero-copy from mapped files."""
    return pafs.LocalFileSystem(use_mmap=memory_map)


def s3_filesystem(store: ObjectStoreConfig) -> pafs.S3FileSystem:
    """A read-only client of the object store ``store`` describes."""
    options: dict[str, Any] = {
        "region": store.region,
        "scheme": store.scheme,
        "endpoint_override": store.endpoint_override,
        "connect_timeout": store.connect_timeout,
        "request_timeout": store.request_timeout,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=store.max_attempts),
        "allow_bucket_creation": False,
        "allow_bucket_deletion": False,
        "proxy_options": None,
    }
    if store.anonymous:
        options["anonymous"] = True
    elif store.access_key is not None and store.secret_key is not None:
        options["access_key"] = store.access_key
        options["secret_key"] = store.secret_key
    if store.tls_ca_file is not None:
        options["tls_ca_file_path"] = str(store.tls_ca_file)
    return pafs.S3FileSystem(**options)
