"""Errors the store raises on purpose; each one is also a :class:`connector.errors.ConnectorError`.

    StoreError
     ├── NotFound (404)          no record with this id (or pid)
     ├── AlreadyExists (409)     the id (or a unique pid) is taken
     ├── StillReferenced (409)   deleting a record another record depends on
     ├── StaleRecord (409)       optimistic lock: the record changed since it was read
     ├── InvalidQuery (400)      unknown sort/filter field, unsupported operator, bad operand
     └── InvalidRecord (400)     a value the schema cannot hold (too long, naive datetime, ...)

Every message names the kind of record and its id, so it reads well in a problem document or a
log line without further context. The HTTP status comes from the ``connector.errors`` class each
error also derives from, so the management API maps them without a table of its own.
"""

from __future__ import annotations

from connector import errors


class StoreError(errors.ConnectorError):
    """Base of every deliberate storage error."""


class NotFound(StoreError, errors.NotFound):
    """No ``kind`` record has the identifier ``id``."""

    def __init__(self, kind: str, id: str) -> None:
        super().__init__(f"{kind} {id!r} does not exist")
        self.kind = kind
        self.id = id


class AlreadyExists(StoreError, errors.Conflict):
    """A ``kind`` record with identifier ``id`` exists already; ``what`` says which key clashed."""

    def __init__(self, kind: str, id: str, *, what: str = "id", message: str | None = None) -> None:
        super().__init__(message or f"{kind} with {what} {id!r} already exists")
        self.kind = kind
        self.id = id
        self.what = what


class StillReferenced(StoreError, errors.Conflict):
    """The ``kind`` record ``id`` cannot be deleted: ``by`` (e.g. "contract definition 'cd-1'")
    still refers to it."""

    def __init__(self, kind: str, id: str, by: str) -> None:
        super().__init__(f"{kind} {id!r} cannot be deleted: {by} still refers to it")
        self.kind = kind
        self.id = id
        self.by = by


class StaleRecord(StoreError, errors.Conflict):
    """Optimistic-lock failure: the ``kind`` record ``id`` is no longer at the version read."""

    def __init__(self, kind: str, id: str, *, expected_version: int | None = None) -> None:
        at = f" at version {expected_version}" if expected_version is not None else ""
        super().__init__(
            f"{kind} {id!r} was changed by someone else since it was read{at}; "
            "read it again and retry"
        )
        self.kind = kind
        self.id = id
        self.expected_version = expected_version


class InvalidQuery(StoreError, errors.BadRequest):
    """A query the store cannot run: unknown field, unsupported operator, bad operand type."""

    def __init__(self, message: str) -> None:
        super().__init__(f"invalid query: {message}")
        self.message = message


class InvalidRecord(StoreError, errors.BadRequest):
    """A ``kind`` record holds a value the schema refuses (e.g. an id longer than 256)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"invalid {kind}: {message}")
        self.kind = kind
        self.message = message
