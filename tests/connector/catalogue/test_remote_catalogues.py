"""Peers' catalogue answers that are no usable documents get a 502, never a crash: the peer
(a stand-in behind a mock transport) is reached with a real token and DPoP proofs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, Dataspace
from tls_support import TlsPeer, http_answer, private_ca

from catalog.contexts import dsp_processor
from connector.catalogue.remote import RemoteCatalogues
from connector.errors import BadGateway
from connector.identity.service import NodeIdentity
from connector.identity.settings import IdentitySettings, TrustedIssuer
from connector.settings import SecuritySettings
from connector.store.database import Database

pytestmark = pytest.mark.anyio
PEER = "https://provider.test/protocol/2025-1"
SECURITY = SecuritySettings(callback_allow_hosts=["provider.test"], allow_http_callbacks=False)
DEEP = b"[" * 5000 + b"]" * 5000  # beyond the JSON parser's recursion limit
NESTED = b'{"@context": [], "a": ' + b"[" * 700 + b"]" * 700 + b"}"  # parses; JSON-LD would not


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def identity(dataspace: Dataspace, database: Database) -> AsyncIterator[NodeIdentity]:
    made = NodeIdentity.from_settings(
        IdentitySettings(
            trusted_issuers=[TrustedIssuer(issuer=dataspace.issuer)],
            authority=dataspace.issuer,
            client_key_file=dataspace.key_files[NODE_A],
        ),
        participant_id=NODE_A,
        public_url="https://consumer.test",
        database=database,
    )
    try:
        yield made
    finally:
        await made.aclose()


def _catalogues(
    database: Database, identity: NodeIdentity, answer: Callable[[httpx.Request], httpx.Response]
) -> RemoteCatalogues:
    return RemoteCatalogues(
        database, identity, SECURITY, dsp_processor(), transport=httpx.MockTransport(answer)
    )


@pytest.mark.parametrize("body", [DEEP, NESTED], ids=["too deep to parse", "too deep to use"])
async def test_a_dataset_answer_nested_too_deep_is_a_bad_gateway(
    database: Database, identity: NodeIdentity, body: bytes
) -> None:
    catalogues = _catalogues(database, identity, lambda r: httpx.Response(200, content=body))
    with pytest.raises(BadGateway, match="deep"):
        await catalogues.dataset(NODE_B, PEER, "visits")
    with pytest.raises(BadGateway, match="deep"):
        await catalogues.fetch(NODE_B, PEER)


async def test_a_peer_trickling_its_answer_is_a_bad_gateway_at_the_deadline(
    database: Database, identity: NodeIdentity
) -> None:
    # Each byte comes within the read timeout; the whole answer never does.
    stop = asyncio.Event()

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while not stop.is_set():
                writer.write(b" ")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    local = SecuritySettings(callback_allow_hosts=["127.0.0.1"], allow_http_callbacks=True)
    catalogues = RemoteCatalogues(database, identity, local, dsp_processor(), timeout_seconds=1)
    async with server:
        try:
            with anyio.fail_after(20):  # only so that a regression ends
                with pytest.raises(BadGateway, match="did not answer within 1 s"):
                    await catalogues.dataset(NODE_B, f"http://127.0.0.1:{port}/dsp", "visits")
        finally:
            stop.set()
            await asyncio.sleep(0.2)  # the handler closes its side


async def test_a_peer_certified_by_the_listed_private_authority_is_reached(
    database: Database, identity: NodeIdentity, tmp_path: Path
) -> None:
    authority = private_ca(tmp_path)
    answer = http_answer("200 OK", b'{"@id": "visits"}')
    allowed = {"callback_allow_hosts": ["127.0.0.1"], "allow_http_callbacks": False}
    trusting = SecuritySettings(**allowed, tls_ca_file=authority.ca_file)
    async with TlsPeer(authority, answer).serving() as peer:
        public_only = RemoteCatalogues(
            database, identity, SecuritySettings(**allowed), dsp_processor()
        )
        with pytest.raises(BadGateway, match="could not be fetched"):
            await public_only.dataset(NODE_B, peer.url + "/dsp", "visits")
        private = RemoteCatalogues(database, identity, trusting, dsp_processor())
        assert await private.dataset(NODE_B, peer.url + "/dsp", "visits") == {"@id": "visits"}
