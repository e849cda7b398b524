"""``Prepared``: a hot Core statement compiled once per dialect, run on the DBAPI cursor.

Every message of a negotiation runs a handful of the same statements (read a process, save it,
record the message, remember a token). Through ``Connection.execute`` each costs about 25-35 µs
of SQLAlchemy before and after the driver's own 5 µs on SQLite: finding the compiled form by its
cache key, an execution context, parameter and result objects, event dispatch. Under load that
was a quarter of a node's CPU. A :class:`Prepared` statement does the part that varies per call
only: it keeps the compiled SQL, the order of its parameters and the type processors of its
binds and result columns (the very ones SQLAlchemy would apply: ``dialect_impl`` of each type,
so stored values are the same either way), and runs the statement on the connection's cursor.

What it keeps from SQLAlchemy: the connection, its transaction (the statement runs inside
whatever ``Database.transaction``/``read`` began; a SAVEPOINT from ``begin_nested`` too), its
error handling (a driver error, running the statement or reading its rows, becomes the same
``sqlalchemy.exc`` exception, and a lost connection invalidates it, as ``Connection.execute``
does), and whatever else needs ``Connection.execute`` itself, where the statement then goes:
a connection outside a transaction (``Connection.execute`` begins one that ``commit()``
ends), ``echo`` (it logs statements), a ``before_cursor_execute`` or ``after_cursor_execute``
listener on the engine or the connection (instrumentation such as OpenTelemetry's, a test
counting statements). A statement is compiled once per dialect object, that is per engine
(its settings may change the SQL or the type processors).

What it does not do: statements whose SQL depends on the parameters (``expanding`` ``IN``
lists, ``literal_execute``), statements giving two columns of one name (rows are dicts by
column name), and ``executemany``. Such statements are refused when first compiled; run them
through ``Connection.execute``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any] | None


class MissingParameter(ValueError):
    """A bind parameter of the statement was given no value (a programming error)."""


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one dialect."""

    sql: str
    names: tuple[str, ...]
    """The bind parameters, in the order a positional paramstyle takes them."""
    positional: bool
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    """The binds that have a processor (others go to the driver as they are)."""
    defaults: Mapping[str, Any]
    """Values of binds built into the statement (``c.version + 1``, ``c.role == "provider"``)."""
    columns: tuple[str, ...]
    """The names of the result columns (empty: no rows come back)."""
    results: tuple[Processor, ...]


class Prepared:
    """One statement; build it once (module level or ``functools.cache``), run it many times.

    ``rows`` and ``first`` take the parameters by bind name, as ``Connection.execute`` does,
    and give rows as dicts by column name.
    """

    __slots__ = ("_last", "_lock", "_plans", "_statement")

    def __init__(self, statement: Executable) -> None:
        if not isinstance(statement, ClauseElement):
            raise TypeError("a Prepared statement is a Core statement")
        self._statement = statement
        # By dialect object (one per engine, kept while the engine lives): the SQL and the
        # type processors may depend on an engine's settings (json_serializer, ...). The plan
        # used last is also held directly (no weak reference to make per call): it keeps one
        # dialect alive until another is used, at most one per statement.
        self._plans: weakref.WeakKeyDictionary[Dialect, _Plan] = weakref.WeakKeyDictionary()
        self._last: tuple[Dialect, _Plan] | None = None
        self._lock = threading.Lock()

    @property
    def statement(self) -> Executable:
        return self._statement

    def _plan(self, dialect: Dialect) -> _Plan:
        last = self._last
        if last is not None and last[0] is dialect:
            return last[1]
        plan = self._plans.get(dialect)
        if plan is None:
            with self._lock:
                plan = self._plans.get(dialect)
                if plan is None:
                    plan = self._plans[dialect] = self._compile(dialect)
        self._last = (dialect, plan)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        assert isinstance(self._statement, ClauseElement)
        compiled = self._statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        binds = compiled.binds
        if any(bind.expanding for bind in binds.values()) or compiled.literal_execute_params:
            raise ValueError("a statement with expanding or literal parameters cannot be Prepared")
        if compiled.escaped_bind_names:
            raise ValueError("a statement whose bind names need escaping cannot be Prepared")
        positional = bool(compiled.positional)
        # The names as the SQL has them: in order, as often as they come, for a positional
        # paramstyle; once each for a named one.
        names = (
            tuple(compiled.positiontup or ())
            if positional
            else tuple(dict.fromkeys(compiled.bind_names.values()))
        )
        processors = []
        defaults: dict[str, Any] = {}
        for name in dict.fromkeys(names):  # a bind may come more than once (positional)
            bind = binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
            if bind.callable is not None or bind.value is not None or not bind.required:
                defaults[name] = bind.effective_value
        exported = list(getattr(self._statement, "exported_columns", ()))
        columns = tuple(str(column.name) for column in exported)
        if len(set(columns)) != len(columns):
            raise ValueError("a statement giving two columns of one name cannot be Prepared")
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in exported
        )
        return _Plan(
            sql=compiled.string,
            names=names,
            positional=positional,
            processors=tuple(processors),
            defaults=defaults,
            columns=columns,
            results=results,
        )

    def _parameters(self, plan: _Plan, given: Mapping[str, Any]) -> Any:
        values = {**plan.defaults, **given} if plan.defaults else dict(given)
        try:
            for name, processor in plan.processors:
                values[name] = processor(values[name])
            if plan.positional:
                return tuple(values[name] for name in plan.names)
            return {name: values[name] for name in plan.names}
        except KeyError as missing:
            if missing.args and missing.args[0] in plan.names and missing.args[0] not in values:
                raise MissingParameter(
                    f"no value for the bind parameter {missing.args[0]!r}"
                ) from None
            raise

    def _run(
        self, connection: Connection, given: Mapping[str, Any], fetch: Callable[[Any], Any]
    ) -> Any:
        """The statement run on the connection's cursor; what ``fetch`` reads from it.

        Errors as ``Connection.execute`` raises them, through its own handling (a private
        method of SQLAlchemy's, the version pinned in constraints.txt; the tests in
        tests/connector/store/test_store_prepared.py compare): a driver error, raised running
        the statement or reading its rows, is the matching ``sqlalchemy.exc`` exception, and a
        lost connection is invalidated; a value a type processor refuses is a
        ``StatementError``; an interruption (``KeyboardInterrupt``) invalidates the
        connection; any other exception of the driver's is raised as it is."""
        plan = self._plan(connection.dialect)
        try:
            parameters = self._parameters(plan, given)
        except MissingParameter:
            raise
        except Exception as error:  # a type processor's refusal, as SQLAlchemy wraps it
            connection._handle_dbapi_exception(error, plan.sql, dict(given), None, None)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, parameters)
            return fetch(cursor) if plan.columns else None
        except connection.dialect.loaded_dbapi.Error as error:
            connection._handle_dbapi_exception(error, plan.sql, parameters, cursor, None)
        except Exception:
            raise  # not the driver's kind of error: as Connection.execute lets it through
        except BaseException as error:  # interrupted: the connection's state is unknown
            connection._handle_dbapi_exception(error, plan.sql, parameters, cursor, None)
        finally:
            cursor.close()

    def _row(self, plan: _Plan, row: Sequence[Any]) -> dict[str, Any]:
        return {
            name: value if processor is None or value is None else processor(value)
            for name, processor, value in zip(plan.columns, plan.results, row, strict=True)
        }

    def _through_sqlalchemy_wanted(self, connection: Connection) -> bool:
        """Whether the statement must go through ``Connection.execute``: outside a transaction
        (it begins one there, which ``commit()`` then ends: on the driver's cursor, the driver
        would begin one SQLAlchemy does not know of), with ``echo`` on (it logs statements), or
        when statement listeners want to see it (the engine's are joined to each
        connection's). For those, first the flags SQLAlchemy itself checks before dispatching
        any connection event (unset unless a connection event is registered: a cheap answer
        for the usual case), then the listeners themselves (the PostgreSQL read engine's
        isolation level is set by an ``engine_connect`` listener, which sets the flags)."""
        if not connection.in_transaction() or connection.engine.echo:
            return True
        if not (connection._has_events or connection.engine._has_events):
            return False
        dispatch = connection.dispatch
        return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)

    def _through_sqlalchemy(
        self, connection: Connection, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        self._plan(connection.dialect)  # refused as on the cursor
        result = connection.execute(self._statement, dict(parameters))
        return [dict(row._mapping) for row in result] if result.returns_rows else []

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row the statement gives."""
        if self._through_sqlalchemy_wanted(connection):
            return self._through_sqlalchemy(connection, parameters)
        plan = self._plan(connection.dialect)
        found = self._run(connection, parameters, lambda cursor: cursor.fetchall())
        return [] if found is None else [self._row(plan, row) for row in found]

    def first(self, connection: Connection, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row the statement gives, or None (the rest are discarded)."""
        if self._through_sqlalchemy_wanted(connection):
            rows = self._through_sqlalchemy(connection, parameters)
            return rows[0] if rows else None
        plan = self._plan(connection.dialect)
        row = self._run(connection, parameters, lambda cursor: cursor.fetchone())
        return None if row is None else self._row(plan, row)
