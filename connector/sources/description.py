"""What the catalogue learns about a source without reading its rows: files, sizes, dates, format.

Paths are relative to the address (a file's own name for a single-file source), so a description
never reveals where the node keeps its data roots or which endpoint serves a bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow.fs as pafs

from connector.sources.address import Format, Partitioning


@dataclass(frozen=True)
class SourceFile:
    """One data file: path below the address, size in bytes, last modification (UTC)."""

    path: str
    size: int | None
    modified: datetime | None

    @classmethod
    def from_info(cls, path: str, info: pafs.FileInfo) -> SourceFile:
        """Build from a :class:`pyarrow.fs.FileInfo`; a naive mtime is taken as UTC."""
        modified = info.mtime
        if modified is not None and modified.tzinfo is None:
            modified = modified.replace(tzinfo=UTC)
        return cls(path=path, size=info.size, modified=modified)


@dataclass(frozen=True)
class SourceDescription:
    """A source as the catalogue describes it (``dcat:byteSize``, ``dcat:mediaType``...).

    ``partitioning`` is what was applied: ``hive`` when ``name=value`` folders gave partition
    columns, ``none`` otherwise (a single file, a flat folder, or an address that said ``none``).
    """

    location: str
    format: Format
    media_type: str
    partitioning: Partitioning
    partition_columns: tuple[str, ...]
    files: tuple[SourceFile, ...]

    @property
    def total_bytes(self) -> int:
        """Sum of the file sizes known to the storage."""
        return sum(file.size or 0 for file in self.files)

    @property
    def last_modified(self) -> datetime | None:
        """The latest modification time among the files (``dct:modified``), if any is known."""
        times = [file.modified for file in self.files if file.modified is not None]
        return max(times) if times else None
