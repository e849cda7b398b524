"""``like`` and ``ilike`` as SQL that matches the same strings on SQLite and PostgreSQL.

Patterns use SQL wildcards (``%`` any run, ``_`` one character) and have no escape character.

* ``like`` is case-sensitive. SQLite's own LIKE folds ASCII case, so it becomes ``GLOB`` there,
  with the pattern translated (:func:`like_to_glob`); PostgreSQL runs ``LIKE … ESCAPE ''``.
* ``ilike`` folds case with one rule on both databases, on the value and on the pattern, then
  matches case-sensitively: every character is replaced by its one-character Unicode lowercase
  (the simple case mapping: ``É``→``é``, ``Ω``→``ω``, ``Д``→``д``, ``İ``→``i``). There are no
  multi-character or context rules: ``ß`` stays ``ß``, a final capital sigma becomes the medial
  small sigma (U+03C3), never the final one. PostgreSQL does it with ``lower()``, which follows
  the simple mapping under a UTF-8 ``LC_CTYPE`` (the test cluster runs ``C.UTF-8``; a ``C``
  ctype would fold ASCII only). SQLite's ``lower()`` folds ASCII only, so each SQLite connection
  gets :func:`lower` as the deterministic SQL function ``etds_lower``
  (:func:`register_sqlite_functions`) and the comparison is a ``GLOB``. A letter added to
  Unicode after the version the database's C library or Python knows may still fold differently.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, func

SQLITE_LOWER = "etds_lower"

# The only characters whose Python lowercase is not their simple one-to-one mapping: U+0130
# (lowercase "i̇", two characters) and capital sigma (ς at the end of a word, by context).
_SIMPLE = str.maketrans({"\u0130": "i", "\u03a3": "\u03c3"})


def lower(value: str) -> str:
    """``value`` with every character replaced by its one-character Unicode lowercase."""
    return value.translate(_SIMPLE).lower()


def _sqlite_lower(value: Any) -> Any:
    return lower(value) if isinstance(value, str) else value


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Make :func:`lower` available as ``etds_lower(text)`` on a new sqlite3 connection."""
    dbapi_connection.create_function(SQLITE_LOWER, 1, _sqlite_lower, deterministic=True)


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (``%``, ``_``) as the equivalent case-sensitive SQLite GLOB pattern."""
    special = {"*": "[*]", "?": "[?]", "[": "[[]", "%": "*", "_": "?"}
    return "".join(special.get(char, char) for char in pattern)


def like(expr: Any, pattern: str, backend: str) -> ColumnElement[bool]:
    """``expr LIKE pattern``, case-sensitive, without an escape character."""
    result: ColumnElement[bool]
    if backend == "sqlite":
        result = expr.op("GLOB", is_comparison=True)(like_to_glob(pattern))
    else:
        result = expr.like(pattern, escape="")
    return result


def ilike(expr: Any, pattern: str, backend: str) -> ColumnElement[bool]:
    """``expr`` matches ``pattern`` once both are lowercased by the rule above."""
    if backend == "sqlite":
        folded = getattr(func, SQLITE_LOWER)(expr, type_=String)
        return like(folded, lower(pattern), backend)
    result: ColumnElement[bool] = func.lower(expr, type_=String).like(
        func.lower(pattern, type_=String), escape=""
    )
    return result
