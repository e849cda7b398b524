"""The certificate authorities the node trusts when it calls out over HTTPS.

Peers' connectors, the dataspace authority and trusted issuers' key sets are verified against
certifi's bundle of public authorities (httpx's default), plus the PEM bundle of
``security.tls_ca_file`` when set: a dataspace whose members' certificates come from a private
authority lists it there. Hostnames are always checked.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi


class UnusableCaFile(ValueError):
    """``security.tls_ca_file`` cannot be read as PEM certificates."""


def outbound_ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A client context verifying certificates and hostnames against certifi's bundle and the
    certificates of ``ca_file``."""
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_file is not None:
        public = len(context.get_ca_certs())
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise UnusableCaFile(f"{ca_file} holds no usable PEM certificate: {exc}") from None
        if len(context.get_ca_certs()) == public:  # e.g. a revocation list only
            raise UnusableCaFile(f"{ca_file} holds no usable PEM certificate")
    return context
