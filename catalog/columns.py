"""The column schema of a dataset, published with W3C CSVW terms.

A dataset's columns are a ``csvw:tableSchema`` (a ``csvw:Schema``) whose ``csvw:column`` is the
ordered list of ``csvw:Column`` nodes, each with ``csvw:name``, ``csvw:datatype`` (an XSD datatype
IRI, as CSVW's built-in datatypes are) and optionally ``csvw:titles``, ``dct:description`` and
``csvw:required``. :func:`csvw_datatype` maps an Arrow type, as pyarrow prints it, to the datatype.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog import checks
from catalog.values import LangString, as_tuple, lang_strings, store
from catalog.vocabulary import XSD

DATATYPES = frozenset(
    {
        "anyURI",
        "base64Binary",
        "boolean",
        "byte",
        "date",
        "dateTime",
        "dateTimeStamp",
        "decimal",
        "double",
        "duration",
        "float",
        "gYear",
        "gYearMonth",
        "hexBinary",
        "int",
        "integer",
        "long",
        "nonNegativeInteger",
        "short",
        "string",
        "time",
        "unsignedByte",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
    }
)
MAX_COLUMNS = 10_000

_ARROW_EXACT = {
    "bool": "boolean",
    "int8": "byte",
    "int16": "short",
    "int32": "int",
    "int64": "long",
    "uint8": "unsignedByte",
    "uint16": "unsignedShort",
    "uint32": "unsignedInt",
    "uint64": "unsignedLong",
    "halffloat": "float",
    "float": "float",
    "double": "double",
    "string": "string",
    "large_string": "string",
    "string_view": "string",
    "binary": "base64Binary",
    "large_binary": "base64Binary",
}
_ARROW_PREFIX = (
    ("timestamp[", "dateTime"),
    ("date32", "date"),
    ("date64", "date"),
    ("time32", "time"),
    ("time64", "time"),
    ("duration[", "duration"),
    ("decimal", "decimal"),
    ("fixed_size_binary", "base64Binary"),
)
_DICTIONARY = re.compile(r"^dictionary<values=(?P<values>[^,]+),")


def csvw_datatype(arrow_type: str) -> str:
    """The CSVW datatype of a column of this Arrow type (``"int64"`` → ``"long"``).

    Dictionary-encoded columns take their values' type; nested types (lists, structs, maps) are
    published as ``string``, their text form.
    """
    match = _DICTIONARY.match(arrow_type)
    if match is not None:
        return csvw_datatype(match["values"])
    if arrow_type in _ARROW_EXACT:
        return _ARROW_EXACT[arrow_type]
    for prefix, datatype in _ARROW_PREFIX:
        if arrow_type.startswith(prefix):
            return datatype
    return "string"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, its CSVW datatype (an XSD name such as ``long``), optional titles,
    descriptions and whether every row has a value (``csvw:required``)."""

    name: str
    datatype: str
    titles: tuple[LangString, ...] = ()
    descriptions: tuple[LangString, ...] = ()
    required: bool = False

    def __post_init__(self) -> None:
        checks.text(self.name, "a column name", limit=1000)
        if self.datatype not in DATATYPES:
            raise ValueError(
                f"column {self.name!r}: {self.datatype!r} is not a CSVW datatype this catalogue "
                f"publishes ({', '.join(sorted(DATATYPES))})"
            )
        store(self, "titles", lang_strings(self.titles, f"column {self.name!r} titles"))
        store(self, "descriptions", lang_strings(self.descriptions, f"column {self.name!r} text"))
        if not isinstance(self.required, bool):
            raise ValueError(f"column {self.name!r}: required must be a boolean")

    @property
    def datatype_iri(self) -> str:
        return XSD + self.datatype


@dataclass(frozen=True, slots=True)
class TableSchema:
    """``csvw:Schema``: the ordered columns, names unique."""

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        columns = as_tuple(self.columns, "the columns")
        store(self, "columns", columns)
        if not columns:
            raise ValueError("a table schema needs at least one column")
        if len(columns) > MAX_COLUMNS:
            raise ValueError(f"a table schema has at most {MAX_COLUMNS} columns")
        names = [column.name for column in columns]
        if len(set(names)) != len(names):
            raise ValueError("a table schema names a column twice")
