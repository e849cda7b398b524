"""The three data formats: which files belong to a folder of each, and how Arrow reads them.

In a folder, only files with a known suffix of the address's format are data; everything else
(READMEs, ``.crc`` checksums...) is ignored, as are files and folders whose name starts with ``.``
or ``_`` (``_SUCCESS``, ``_temporary``, ``.DS_Store``). A single-file address is read whatever its
name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds

from connector.sources.address import CsvColumnType, Format, LocalFileAddress, S3Address


@dataclass(frozen=True)
class FormatInfo:
    """What the rest of the node needs to know about one format."""

    name: Format
    media_type: str
    suffixes: tuple[str, ...]
    memory_map: bool  # read local files through a memory map (zero-copy)


FORMATS: Mapping[Format, FormatInfo] = MappingProxyType(
    {
        "parquet": FormatInfo(
            name="parquet",
            media_type="application/vnd.apache.parquet",
            suffixes=(".parquet", ".parq", ".pq"),
            memory_map=False,
        ),
        "csv": FormatInfo(
            name="csv",
            media_type="text/csv",
            suffixes=(".csv", ".tsv", ".csv.gz", ".tsv.gz", ".csv.zst", ".csv.bz2"),
            memory_map=False,
        ),
        "arrow": FormatInfo(
            name="arrow",
            media_type="application/vnd.apache.arrow.file",
            suffixes=(".arrow", ".feather", ".ipc"),
            memory_map=True,
        ),
    }
)

HIDDEN_PREFIXES = (".", "_")

CSV_TYPES: Mapping[CsvColumnType, pa.DataType] = MappingProxyType(
    {
        "string": pa.string(),
        "dictionary": pa.dictionary(pa.int32(), pa.string()),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }
)


def is_data_file(relative_path: str, fmt: Format) -> bool:
    """Whether ``relative_path`` (``/``-separated, below the folder) is a data file of ``fmt``."""
    parts = relative_path.split("/")
    if any(part.startswith(HIDDEN_PREFIXES) for part in parts):
        return False
    return parts[-1].lower().endswith(FORMATS[fmt].suffixes)


def file_format(address: LocalFileAddress | S3Address) -> ds.FileFormat:
    """The Arrow dataset format that decodes the address's files."""
    if address.format == "parquet":
        return ds.ParquetFileFormat(
            default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=True)
        )
    if address.format == "csv":
        return ds.CsvFileFormat(
            parse_options=pacsv.ParseOptions(delimiter=address.csv_delimiter),
            read_options=pacsv.ReadOptions(encoding="utf8"),
            convert_options=pacsv.ConvertOptions(
                column_types={
                    name: CSV_TYPES[kind] for name, kind in (address.column_types or {}).items()
                }
            ),
        )
    return ds.IpcFileFormat()
