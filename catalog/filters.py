"""The ``filter`` of a DSP ``CatalogRequestMessage``: the project's format, parsed into a
:class:`catalog.search.SearchQuery`. Anything else is refused with a :class:`FilterError` (the
node answers 400 with a ``CatalogError``).

Each item of ``filter`` is one criterion, ``name=value``:

* ``keyword=camping``: words that must all occur (see :mod:`catalog.search`); several keyword
  items add their words;
* ``theme=ECON`` or ``theme=<IRI>``: an EU data-theme code or a theme IRI; several: any of them;
* ``spatial=FRJ``, ``spatial=<NUTS IRI>`` or ``spatial=<EU country IRI>``: a region, compared
  through the NUTS hierarchy; several: any of them;
* ``temporal=<start>/<end>``: an ISO 8601 interval of dates or date-times, ``..`` for an open end
  (``2025-07-01/2025-08-31``, ``2025-01-01/..``); at most one;
* ``modifiedSince=<xsd:dateTime or xsd:date>``: at most one.

An item may be written as a string (``"keyword=camping"``) or as an object with one property
(``{"keyword": "camping"}``). The string form survives JSON-LD expansion (the node reads messages
expanded); the object form only when its key is a full IRI in ``https://w3id.org/etds/ns#``
(``{"https://w3id.org/etds/ns#keyword": "camping"}``), because the DSP context does not define
these names and JSON-LD expansion drops undefined keys. Both the compact and the expanded forms
of the message are accepted here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from catalog import checks
from catalog.regions import region_code
from catalog.search import SearchQuery
from catalog.vocabulary import DATA_THEME, ETDS, theme

NAMES = ("keyword", "theme", "spatial", "temporal", "modifiedSince")
MAX_FILTERS = 32
MAX_VALUE = 500
_CODE = re.compile(r"^[A-Za-z_]{1,20}$")


class FilterError(ValueError):
    """A catalogue filter this node does not support, or a malformed value."""


def _moment(text: str, what: str) -> date:
    try:
        value: date = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        return checks.moment(value, what)
    except ValueError as exc:
        raise FilterError(
            f"{what}: {text!r} is not an xsd:date or a zoned xsd:dateTime (in range)"
        ) from exc


def _literal(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and "@value" in value:
        return value.get("@value")
    return value


def _criterion(item: Any) -> tuple[str, str]:
    """``(name, value)`` of one filter item, in any of the accepted forms."""
    item = _literal(item)
    if isinstance(item, str):
        name, separator, value = item.partition("=")
        if not separator:
            raise FilterError(f"filter {item[:80]!r} is not of the form name=value")
    elif isinstance(item, dict):
        if len(item) != 1:
            raise FilterError(
                "a filter object has exactly one property; an empty one lost its property in "
                'JSON-LD expansion: write the filter as a string such as "keyword=camping"'
            )
        ((name, raw),) = item.items()
        name = name.removeprefix(ETDS)
        value = _literal(raw)
        if not isinstance(value, str):
            raise FilterError(f"filter {name!r}: the value must be a string")
    else:
        raise FilterError('a filter is a string "name=value" or an object with one property')
    if name not in NAMES:
        raise FilterError(f"unsupported filter {name[:80]!r}; supported: {', '.join(NAMES)}")
    value = value.strip()
    if not value or len(value) > MAX_VALUE:
        raise FilterError(f"filter {name!r}: the value must have 1 to {MAX_VALUE} characters")
    return name, value


def _theme(value: str) -> str:
    if checks.is_absolute_iri(value):
        try:
            return checks.iri(value, "filter 'theme'")
        except ValueError as exc:
            raise FilterError(str(exc)) from None
    if _CODE.match(value) is None:
        raise FilterError(f"filter 'theme': {value!r} is neither an IRI nor a {DATA_THEME} code")
    return theme(value.upper())


def _spatial(value: str) -> str:
    if region_code(value) is None:
        raise FilterError(
            f"filter 'spatial': {value!r} is not a NUTS code, a NUTS IRI or an EU country IRI"
        )
    return value


def _interval(value: str) -> tuple[date | None, date | None]:
    start_text, separator, end_text = value.partition("/")
    if not separator:
        raise FilterError("filter 'temporal' is an interval start/end ('..' for an open end)")
    start = None if start_text == ".." else _moment(start_text, "filter 'temporal' start")
    end = None if end_text == ".." else _moment(end_text, "filter 'temporal' end")
    if start is None and end is None:
        raise FilterError("filter 'temporal' needs a start or an end")
    return start, end


def parse_catalog_filters(items: Sequence[Any] | None) -> SearchQuery:
    """The query a DSP catalogue request's ``filter`` array asks for (``None``: no filter)."""
    if items is None:
        return SearchQuery()
    if isinstance(items, str | bytes | dict) or not isinstance(items, Sequence):
        raise FilterError("filter must be an array")
    if len(items) > MAX_FILTERS:
        raise FilterError(f"at most {MAX_FILTERS} filters")
    terms: list[str] = []
    themes: list[str] = []
    places: list[str] = []
    found: dict[str, Any] = {}
    for item in items:
        name, value = _criterion(item)
        if name == "keyword":
            terms.append(value)
        elif name == "theme":
            themes.append(_theme(value))
        elif name == "spatial":
            places.append(_spatial(value))
        elif name in found:
            raise FilterError(f"filter {name!r} may appear once")
        elif name == "temporal":
            found[name] = _interval(value)
        else:
            found[name] = _moment(value, "filter 'modifiedSince'")
    start, end = found.get("temporal", (None, None))
    try:
        return SearchQuery(
            terms=tuple(terms),
            themes=tuple(dict.fromkeys(themes)),
            spatial=tuple(dict.fromkeys(places)),
            start=start,
            end=end,
            modified_since=found.get("modifiedSince"),
        )
    except ValueError as exc:
        raise FilterError(str(exc)) from None
