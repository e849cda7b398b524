"""The identity's outbound HTTPS (the authority, issuers' key sets) trusts the context it is
given: ``security.tls_ca_file`` reaches it through the app factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from identity_support import copy_database
from tls_support import TlsPeer, http_answer, private_ca

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
    peer = TlsPeer(authority, http_answer("503 Service Unavailable"))
    key_file = tmp_path / "node.pem"
    keys.write_private_key(key_file, keys.private_key_pem(keys.generate_key("ec")))
    database = copy_database(sqlite_template, tmp_path / "node.db")
    async with peer.serving():
        settings = IdentitySettings(
            trusted_issuers=[TrustedIssuer(issuer=peer.url)],
            authority=peer.url,
            client_key_file=key_file,
        )
        for context, reached in ((None, False), (outbound_ssl_context(authority.ca_file), True)):
            peer.received.clear()
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
            assert bool(peer.received) is reached, refused.value
            if reached:  # the metadata request arrived; its 503 is the refusal
                assert peer.received[0].startswith(b"GET /.well-known/")
