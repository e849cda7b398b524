"""The identity's outbound HTTPS (the authority, issuers' key sets) trusts the context it is
given: ``security.tls_ca_file`` reaches it through the app factory."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from identity_support import copy_database
from tls_support import private_ca

from connector.http.tls import outbound_ssl_context
from connector.identity import keys
from connector.identity.client import TokenRequestFailed
from connector.identity.service import NodeIdentity
from connector.identity.settings import IdentitySettings, TrustedIssuer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_authority_is_reached_over_the_private_authority_given(
    tmp_path: Path, sqlite_template: Path
) -> None:
    authority = private_ca(tmp_path)
    seen: list[bytes] = []

    async def metadata_refused(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # a client that refused the certificate
        finally:
            writer.close()

    key_file = tmp_path / "node.pem"
    keys.write_private_key(key_file, keys.private_key_pem(keys.generate_key("ec")))
    server = await asyncio.start_server(
        metadata_refused, "127.0.0.1", 0, ssl=authority.server_context()
    )
    issuer = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    settings = IdentitySettings(
        trusted_issuers=[TrustedIssuer(issuer=issuer)], authority=issuer, client_key_file=key_file
    )
    database = copy_database(sqlite_template, tmp_path / "node.db")
    async with server:
        for context, reached in ((None, False), (outbound_ssl_context(authority.ca_file), True)):
            seen.clear()
            identity = NodeIdentity.from_settings(
                settings,
                participant_id="did:web:node.test",
                public_url="https://node.test",
                database=database,
                ssl_context=context,
            )
            try:
                assert identity.tokens is not None
                with pytest.raises(TokenRequestFailed) as refused:
                    await identity.tokens.token("did:web:peer.test")
            finally:
                await identity.aclose()
            assert bool(seen) is reached, refused.value
            if reached:  # the metadata request arrived; its 503 is the refusal
                assert seen[0].startswith(b"GET /.well-known/")
