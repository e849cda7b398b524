"""The dataset profile: which column of a dataset holds what, for enforcement plans.

A provider declares it once per dataset (JSON, see ``examples/policies/dataset-profiles``)::

    {"nuts3": "nuts3", "departement": "departement_code",
     "dimensions": ["snapshot_date", "stay_date", "accommodation_type", "customer_country"],
     "measures": {"units_booked": "sum", "bookings": "sum", "person_nights": "sum"},
     "count_of": "campsite_pid",
     "key": ["snapshot_date", "campsite_pid", "stay_date", "accommodation_type",
             "customer_country", "channel"]}

- ``country``, ``nuts1``, ``nuts2``, ``nuts3``: the columns holding NUTS codes of that level
  (at least one for a region restriction or a spatial granularity; the finest is used to filter
  rows and to derive coarser levels: its codes' prefixes);
- ``departement``: a column naming the same area as ``nuts3`` by another code (INSEE); kept when
  data are aggregated at département level, removed when coarser;
- ``dimensions``: the group keys kept when data are aggregated (other than the regions);
- ``measures``: column → ``sum``, ``min``, ``max`` or ``mean``, the aggregated values;
- ``count_of`` *or* ``volume``: what an aggregation threshold counts in a group: the distinct
  values of ``count_of`` (campsites for the barometer), or the sum of ``volume`` (visitors);
- ``key``: columns that identify a row. When the group keys include it and no coarser geography
  is asked for, every row is its own group and a threshold is applied row by row, streaming.

Columns in none of these are removed when the data are aggregated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pyarrow as pa

from policies.errors import EnforcementError
from policies.nuts import Granularity

_LEVEL_KEYS = MappingProxyType(
    {"country": Granularity.COUNTRY, "nuts1": Granularity.NUTS1, "nuts2": Granularity.REGION,
     "nuts3": Granularity.DEPARTEMENT}
)  # fmt: skip
_KEYS = frozenset(
    {*_LEVEL_KEYS, "departement", "dimensions", "measures", "count_of", "volume", "key"}
)


class Aggregate(StrEnum):
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    MEAN = "mean"


def _text_type(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return bool(pa.types.is_string(data_type) or pa.types.is_large_string(data_type))


def _numeric(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_integer(data_type) or pa.types.is_floating(data_type))


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    """What the columns of a dataset mean (see the module docstring)."""

    regions: Mapping[Granularity, str]
    departement: str | None = None
    dimensions: tuple[str, ...] = ()
    measures: Mapping[str, Aggregate] = field(default_factory=dict)
    count_of: str | None = None
    volume: str | None = None
    key: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", MappingProxyType(dict(self.regions)))
        object.__setattr__(self, "measures", MappingProxyType(dict(self.measures)))
        if self.count_of is not None and self.volume is not None:
            raise EnforcementError("a dataset profile names count_of or volume, not both")
        named = [*self.regions.values(), *self.dimensions, *self.measures]
        if self.departement is not None:
            named.append(self.departement)
        duplicates = sorted({name for name in named if named.count(name) > 1})
        if duplicates:
            raise EnforcementError(f"columns with two roles in the dataset profile: {duplicates}")
        if self.count_of is not None and self.count_of in named:
            raise EnforcementError(f"count_of {self.count_of!r} cannot also be a group key")

    @property
    def finest_region(self) -> tuple[Granularity, str] | None:
        """The finest-level region column, or None when the profile names no region."""
        if not self.regions:
            return None
        level = max(self.regions)
        return level, self.regions[level]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DatasetProfile:
        """Read the JSON form (EnforcementError naming the problem)."""
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise EnforcementError(f"unknown dataset profile entries: {unknown}")

        def text(name: str) -> str | None:
            value = data.get(name)
            if value is not None and (not isinstance(value, str) or not value):
                raise EnforcementError(f"dataset profile {name!r} must be a column name")
            return value

        def names(name: str) -> tuple[str, ...]:
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise EnforcementError(f"dataset profile {name!r} must be a list of column names")
            return tuple(value)

        measures = data.get("measures", {})
        if not isinstance(measures, Mapping):
            raise EnforcementError("dataset profile 'measures' must map columns to aggregates")
        try:
            parsed = {str(column): Aggregate(how) for column, how in measures.items()}
        except ValueError as exc:
            raise EnforcementError(f"dataset profile 'measures': {exc}") from None
        regions = {level: text(key) for key, level in _LEVEL_KEYS.items()}
        return cls(
            regions={level: column for level, column in regions.items() if column is not None},
            departement=text("departement"),
            dimensions=names("dimensions"),
            measures=parsed,
            count_of=text("count_of"),
            volume=text("volume"),
            key=names("key"),
        )

    def to_mapping(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, level in _LEVEL_KEYS.items():
            if level in self.regions:
                data[key] = self.regions[level]
        optional = {"departement": self.departement, "count_of": self.count_of,
                    "volume": self.volume}  # fmt: skip
        data.update({key: value for key, value in optional.items() if value is not None})
        if self.dimensions:
            data["dimensions"] = list(self.dimensions)
        if self.measures:
            data["measures"] = {column: how.value for column, how in self.measures.items()}
        if self.key:
            data["key"] = list(self.key)
        return data

    def check(self, schema: pa.Schema) -> None:
        """EnforcementError if a named column is absent or has a type that does not fit."""
        columns = [*self.regions.values(), *self.dimensions, *self.measures, *self.key]
        columns += [c for c in (self.departement, self.count_of, self.volume) if c is not None]
        missing = sorted({column for column in columns if column not in schema.names})
        if missing:
            raise EnforcementError(f"the dataset has no column {', '.join(map(repr, missing))}")
        for column in self.regions.values():
            if not _text_type(schema.field(column).type):
                raise EnforcementError(f"region column {column!r} must hold strings")
        for column in [*self.measures, *([self.volume] if self.volume else [])]:
            if not _numeric(schema.field(column).type):
                raise EnforcementError(f"column {column!r} must be numeric to be aggregated")
