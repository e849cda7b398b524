"""Where asset data lives: Parquet, CSV or Arrow IPC files, on local disk or in S3 object storage.

A data address (:mod:`connector.sources.address`) says where; :func:`check_data_address` checks
it against the node's :class:`SourceConfig` without reading anything (asset definition);
:func:`open_source` checks it the same way and returns a :class:`TabularSource` that gives the
schema, the row count, a description for the catalogue and a bounded stream of record batches.
"""

from connector.sources.address import (
    DataAddress,
    LocalFileAddress,
    S3Address,
    parse_data_address,
)
from connector.sources.config import ObjectStoreConfig, SourceConfig
from connector.sources.description import SourceDescription, SourceFile
from connector.sources.errors import (
    DataAddressError,
    SourceAccessDenied,
    SourceError,
    SourceFormatError,
    SourceNotFound,
    SourceQueryError,
    SourceUnavailable,
)
from connector.sources.locate import check_data_address
from connector.sources.tabular import TabularSource, open_source

__all__ = [
    "DataAddress",
    "DataAddressError",
    "LocalFileAddress",
    "ObjectStoreConfig",
    "S3Address",
    "SourceAccessDenied",
    "SourceConfig",
    "SourceDescription",
    "SourceError",
    "SourceFile",
    "SourceFormatError",
    "SourceNotFound",
    "SourceQueryError",
    "SourceUnavailable",
    "TabularSource",
    "check_data_address",
    "open_source",
    "parse_data_address",
]
