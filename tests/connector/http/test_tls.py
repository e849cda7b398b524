"""The trust the node's outbound HTTPS uses: public authorities, plus ``security.tls_ca_file``."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from tls_support import TlsPeer, http_answer, private_ca

from connector.http.tls import UnusableCaFile, outbound_ssl_context
from connector.settings import SecuritySettings


def test_certificates_and_hostnames_are_always_checked(tmp_path: Path) -> None:
    for context in (outbound_ssl_context(), outbound_ssl_context(private_ca(tmp_path).ca_file)):
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname


async def _get(url: str, context: ssl.SSLContext) -> int:
    async with httpx.AsyncClient(verify=context, trust_env=False) as http:
        return (await http.get(url)).status_code


def test_a_private_authority_listed_is_trusted_besides_the_public_ones(tmp_path: Path) -> None:
    authority = private_ca(tmp_path)

    async def main() -> None:
        async with TlsPeer(authority, http_answer("204 No Content")).serving() as peer:
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await _get(peer.url, outbound_ssl_context())
            assert await _get(peer.url, outbound_ssl_context(authority.ca_file)) == 204
            assert len(peer.received) == 1

    asyncio.run(main())


@pytest.mark.parametrize("content", [None, b"not a certificate", b""])
def test_an_unusable_ca_file_is_refused_clearly(tmp_path: Path, content: bytes | None) -> None:
    ca_file = tmp_path / "ca.pem"
    if content is not None:
        ca_file.write_bytes(content)
    with pytest.raises(UnusableCaFile, match="no usable PEM certificate"):
        outbound_ssl_context(ca_file)
    with pytest.raises(ValidationError, match="tls_ca_file"):
        SecuritySettings(tls_ca_file=ca_file)


def test_a_ca_file_holding_only_a_revocation_list_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "some CA")]))
        .last_update(now)
        .next_update(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    ca_file = tmp_path / "crl.pem"
    ca_file.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(UnusableCaFile, match="no usable PEM certificate"):
        outbound_ssl_context(ca_file)
