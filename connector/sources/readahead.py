"""Bounded readahead: decode the next batches in a background thread while the consumer works.

The producer runs in one daemon thread per stream and blocks once ``depth`` items wait in the
queue, so a stream holds at most ``depth`` batches plus the one being decoded and the one being
consumed, however slow the consumer. When the consumer stops early (closes the iterator, or drops
it), the producer notices within :data:`POLL_SECONDS`, closes its source and ends. Exceptions of
the producer are raised to the consumer in order, after the items produced before them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.1


class _End:
    """Marks the end of the source."""


class _Failure:
    """Carries an exception of the source to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Producer(Generic[T]):
    def __init__(self, source: Iterator[T], depth: int) -> None:
        self.source = source
        self.items: queue.Queue[T | _End | _Failure] = queue.Queue(maxsize=depth)
        self.stopped = threading.Event()

    def put(self, item: T | _End | _Failure) -> bool:
        """Queue ``item``; False when the consumer has gone away meanwhile."""
        while not self.stopped.is_set():
            try:
                self.items.put(item, timeout=POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def run(self) -> None:
        try:
            for item in self.source:
                if not self.put(item):
                    return
            self.put(_End())
        except Exception as exc:  # handed to the consumer, which raises it
            self.put(_Failure(exc))
        finally:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()


def readahead(source: Iterator[T], depth: int) -> Generator[T, None, None]:
    """Iterate ``source`` with up to ``depth`` items produced ahead (none: ``depth`` 0)."""
    if depth < 1:
        yield from source
        return
    producer = _Producer(source, depth)
    thread = threading.Thread(target=producer.run, name="etds-source-readahead", daemon=True)
    thread.start()
    try:
        while True:
            item = producer.items.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        producer.stopped.set()
