"""The JWS algorithms identity knows: asymmetric only (RFC 8725 §3.1-3.2).

A module of its own so that settings can name algorithms without importing the JOSE library.
"""

from __future__ import annotations

from typing import Literal, get_args

Algorithm = Literal["ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256"]
ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)
DEFAULT_ALGORITHMS: tuple[Algorithm, ...] = ("ES256", "EdDSA")
"""What tokens between our nodes and our authority use."""
