"""Bounded readahead: order, bound, error propagation and clean stop of the producer thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from connector.sources.readahead import readahead


class Source:
    """An iterator that records how far it was pulled and whether it was closed."""

    def __init__(self, items: int, fail_at: int | None = None) -> None:
        self.items = items
        self.fail_at = fail_at
        self.pulled = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[int]:
        return self.generate()

    def generate(self) -> Iterator[int]:
        try:
            for i in range(self.items):
                if i == self.fail_at:
                    raise ValueError(f"broken at {i}")
                self.pulled = i + 1
                yield i
        finally:
            self.closed.set()


def producer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "etds-source-readahead"]


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_items_arrive_in_order(depth: int) -> None:
    assert list(readahead(iter(Source(50)), depth)) == list(range(50))


def test_depth_zero_uses_no_thread() -> None:
    stream = readahead(iter(Source(5)), 0)
    before = len(producer_threads())

    assert next(stream) == 0
    assert len(producer_threads()) == before


def test_producer_stays_within_depth_of_a_stalled_consumer() -> None:
    source = Source(1_000)
    stream = readahead(iter(source), 3)

    assert next(stream) == 0
    threading.Event().wait(0.3)  # room for an unbounded producer to run far ahead

    # One item consumed, three queued, one pulled that the producer cannot put yet.
    assert source.pulled <= 1 + 3 + 1
    stream.close()


def test_error_is_raised_after_the_items_before_it() -> None:
    stream = readahead(iter(Source(10, fail_at=4)), 2)

    assert [next(stream) for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="broken at 4"):
        next(stream)


def test_closing_early_stops_and_closes_the_source() -> None:
    source = Source(1_000_000)
    stream = readahead(iter(source), 2)

    assert next(stream) == 0
    stream.close()

    assert source.closed.wait(5)
    for thread in producer_threads():
        thread.join(5)
    assert producer_threads() == []
    assert source.pulled < 10
