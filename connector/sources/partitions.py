"""Hive partitions: ``name=value`` folders that become dictionary-encoded string columns.

Values are kept as the exact folder text (URI-decoded, ``__HIVE_DEFAULT_PARTITION__`` meaning
null): Arrow's own type inference would read ``departement_code=01`` as the integer 1. Inside a
stream, a partition column is a dictionary of one value whose indices are a zero-copy slice of one
shared array of zeros, so adding it to a batch costs no allocation.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

import numpy as np
import pyarrow as pa

#: How Hive (and Arrow) write a null partition value.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITION_TYPE = pa.dictionary(pa.int32(), pa.string())


def hive_values(relative_path: str) -> dict[str, str | None]:
    """The ``name=value`` folders of a file's path below the dataset base, in path order."""
    values: dict[str, str | None] = {}
    for segment in relative_path.split("/")[:-1]:
        name, equals, value = segment.partition("=")
        if equals and name:
            decoded = unquote(value)
            values[unquote(name)] = None if decoded == NULL_PARTITION else decoded
    return values


def hive_keys(relative_paths: Iterable[str]) -> list[str]:
    """Every partition name found under the base, in order of first appearance."""
    keys: dict[str, None] = {}
    for path in relative_paths:
        for name in hive_values(path):
            keys.setdefault(name, None)
    return list(keys)


def hive_schema(keys: Iterable[str]) -> pa.Schema:
    """The partition columns: dictionary-encoded strings, whatever the values look like."""
    return pa.schema([pa.field(key, PARTITION_TYPE) for key in keys])


class PartitionColumns:
    """Builds constant partition columns for batches of up to ``max_rows`` rows."""

    def __init__(self, max_rows: int) -> None:
        self._zeros = pa.array(np.zeros(max_rows, dtype=np.int32))
        self._max_rows = max_rows

    def column(self, value: str | None, rows: int) -> pa.DictionaryArray:
        """``rows`` times ``value`` (null for None), as ``dictionary<int32, string>``."""
        if rows > self._max_rows:
            raise ValueError(f"batches are limited to {self._max_rows} rows, not {rows}")
        if value is None:
            return pa.DictionaryArray.from_arrays(
                pa.nulls(rows, pa.int32()), pa.array([], pa.string())
            )
        return pa.DictionaryArray.from_arrays(
            self._zeros.slice(0, rows), pa.array([value], pa.string())
        )
