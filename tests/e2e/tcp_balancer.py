"""A round-robin TCP load balancer on 127.0.0.1, in a background thread (for replica tests).

Each accepted connection goes to the next backend in turn and bytes are copied both ways until
either side closes: what a layer-4 load balancer in front of node replicas does. HTTP keep-alive
connections stay on the backend they were given, as behind a real balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

CHUNK = 64 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


class _Balancer:
    def __init__(self, backends: Sequence[int]) -> None:
        self._next = itertools.cycle(backends)
        self.connections = dict.fromkeys(backends, 0)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = next(self._next)
        self.connections[port] += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


@contextmanager
def tcp_balancer(port: int, backends: Sequence[int]) -> Iterator[dict[int, int]]:
    """Listen on ``127.0.0.1:port`` and spread connections over ``backends`` (ports); yields the
    number of connections each backend was given so far."""
    balancer = _Balancer(backends)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stopped: asyncio.Event | None = None
    failure: list[BaseException] = []

    async def serve() -> None:
        nonlocal stopped
        stopped = asyncio.Event()
        try:
            server = await asyncio.start_server(balancer.handle, "127.0.0.1", port)
        except OSError as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        async with server:
            await stopped.wait()
        open_pipes = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in open_pipes:
            task.cancel()
        await asyncio.gather(*open_pipes, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    if failure:
        raise failure[0]
    try:
        yield balancer.connections
    finally:
        if stopped is not None:
            loop.call_soon_threadsafe(stopped.set)
        thread.join(10)
        loop.close()
