"""DPoP proofs (RFC 9449): what a proof must say, and each way it can be wrong."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from connector.identity import jose, keys
from connector.identity.dpop import (
    DpopFailure,
    access_token_hash,
    create_proof,
    normalise_htu,
    replay_expiry,
    verify_proof,
)

URL = "https://node.example/protocol/2025-1/catalog/request"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"


def check(proof: str, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "method": "POST",
        "url": URL,
        "now": time.time(),
        "max_age": 60,
        "leeway": 5,
        "access_token": TOKEN,
    } | overrides
    return verify_proof(proof, **arguments)


@pytest.mark.parametrize("key_type", ["ec", "ed25519"])
def test_a_fresh_proof_verifies_and_names_its_key(key_type: keys.KeyType) -> None:
    key = keys.ephemeral_key(key_type)
    proof = create_proof(
        key, method="post", url=URL + "?x=1#f", now=time.time(), access_token=TOKEN
    )
    header = jose.unverified_header(proof)
    assert header["typ"] == "dpop+jwt"
    assert "d" not in header["jwk"]
    claims = jose.unverified_claims(proof)
    assert claims["htm"] == "POST"
    assert claims["htu"] == URL
    assert claims["ath"] == access_token_hash(TOKEN)
    verified = check(proof)
    assert verified.jkt == key.thumbprint
    assert verified.jti == claims["jti"]


def test_the_ath_of_the_rfc_example() -> None:
    # RFC 9449 §7.1: the token "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU" hashes to this ath.
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    assert access_token_hash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://Node.Example:443/a?b#c", "https://node.example/a"),
        ("http://node.example:80", "http://node.example/"),
        ("http://127.0.0.1:8181/x", "http://127.0.0.1:8181/x"),
        ("http://[::1]:8181/x", "http://[::1]:8181/x"),
        # percent-encodings: hex digits upper-cased, unreserved characters decoded
        (
            "http://n.example/datasets/visites-%c3%a9t%C3%A9",
            "http://n.example/datasets/visites-%C3%A9t%C3%A9",
        ),
        ("http://n.example/%7Ea%2Db%2fc", "http://n.example/~a-b%2Fc"),
    ],
)
def test_htu_normalisation(url: str, normal: str) -> None:
    assert normalise_htu(url) == normal


@pytest.mark.parametrize("url", ["http://[::1", "http://node.example:99999/x"])
def test_an_htu_that_is_no_url_is_a_failure(url: str) -> None:
    with pytest.raises(DpopFailure, match="htu"):
        normalise_htu(url)


def test_a_proof_for_another_request_is_refused() -> None:
    key = keys.ephemeral_key()
    proof = create_proof(key, method="POST", url=URL, now=time.time(), access_token=TOKEN)
    with pytest.raises(DpopFailure, match="method"):
        check(proof, method="GET")
    with pytest.raises(DpopFailure, match=re.escape("not 'https://node.example/other'")):
        check(proof, url="https://node.example/other")
    with pytest.raises(DpopFailure, match="ath"):
        check(proof, access_token=TOKEN + "x")
    with pytest.raises(DpopFailure, match="no access token"):
        check(proof, access_token=None)


def test_a_token_request_proof_has_no_ath_and_a_resource_proof_needs_one() -> None:
    key = keys.ephemeral_key()
    proof = create_proof(key, method="POST", url=URL, now=time.time())
    assert check(proof, access_token=None).jkt == key.thumbprint
    with pytest.raises(DpopFailure, match="ath"):
        check(proof)


def test_time_window() -> None:
    key = keys.ephemeral_key()
    now = time.time()
    old = create_proof(key, method="POST", url=URL, now=now - 70, access_token=TOKEN)
    with pytest.raises(DpopFailure, match="too old"):
        check(old, now=now)
    future = create_proof(key, method="POST", url=URL, now=now + 30, access_token=TOKEN)
    with pytest.raises(DpopFailure, match="future"):
        check(future, now=now)
    within = create_proof(key, method="POST", url=URL, now=now + 3, access_token=TOKEN)
    verified = check(within, now=now)
    assert replay_expiry(verified, max_age=60, leeway=5) >= now + 60


def _resign(proof: str, key: keys.SigningKey, **changes: Any) -> str:
    header = jose.unverified_header(proof) | changes.pop("header", {})
    claims = jose.unverified_claims(proof) | changes
    claims = {k: v for k, v in claims.items() if v is not None}
    return jose.sign(header, claims, key.key)


def test_malformed_proofs_are_refused() -> None:
    key = keys.ephemeral_key()
    proof = create_proof(key, method="POST", url=URL, now=time.time(), access_token=TOKEN)
    with pytest.raises(DpopFailure, match="typ"):
        check(_resign(proof, key, header={"typ": "JWT"}))
    with pytest.raises(DpopFailure, match="jti"):
        check(_resign(proof, key, jti=None))
    with pytest.raises(DpopFailure, match="jti"):
        check(_resign(proof, key, jti="short"))
    with pytest.raises(DpopFailure, match="iat"):
        check(_resign(proof, key, iat="now"))
    with pytest.raises(DpopFailure, match="malformed"):
        check("not.a.proof")


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused() -> None:
    key, other = keys.ephemeral_key(), keys.ephemeral_key()
    proof = create_proof(key, method="POST", url=URL, now=time.time(), access_token=TOKEN)
    with pytest.raises(DpopFailure, match="does not verify"):
        check(_resign(proof, other))


def test_a_private_key_in_the_header_is_refused() -> None:
    key = keys.ephemeral_key()
    private_jwk = key.key.as_dict(private=True)
    proof = create_proof(key, method="POST", url=URL, now=time.time(), access_token=TOKEN)
    with pytest.raises(DpopFailure, match="private key material"):
        check(_resign(proof, key, header={"jwk": private_jwk}))
