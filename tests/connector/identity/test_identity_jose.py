"""The JWS allow-list: only asymmetric algorithms exist; dangerous headers are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from joserfc import jws

from connector.identity import jose, keys


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, object], claims: dict[str, object], signature: bytes) -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


@pytest.mark.parametrize("key_type", ["ec", "ed25519"])
def test_sign_and_verify(key_type: keys.KeyType) -> None:
    key = keys.ephemeral_key(key_type)
    token = jose.sign({"alg": key.alg, "kid": key.kid}, {"n": 1}, key.key)
    header, claims = jose.verify(
        token, keys.import_public_jwk(key.public_jwk()), ["ES256", "EdDSA"]
    )
    assert header["kid"] == key.kid
    assert claims == {"n": 1}


def test_an_algorithm_outside_the_allow_list_is_refused() -> None:
    key = keys.ephemeral_key("ed25519")
    token = jose.sign({"alg": "EdDSA"}, {}, key.key)
    with pytest.raises(jose.JoseFailure, match="not allowed"):
        jose.verify(token, keys.import_public_jwk(key.public_jwk()), ["ES256"])


def test_none_and_hmac_do_not_exist_here() -> None:
    key = keys.ephemeral_key()
    public = keys.import_public_jwk(key.public_jwk())
    unsigned = _forge({"alg": "none"}, {"sub": "x"}, b"")
    with pytest.raises(jose.JoseFailure):
        jose.verify(unsigned, public, ["none", "ES256"])
    secret = json.dumps(key.public_jwk()).encode()
    head_body = unsigned.rsplit(".", 1)[0].replace(
        _b64(b'{"alg": "none"}'), _b64(b'{"alg": "HS256"}')
    )
    mac = hmac.new(secret, head_body.encode(), hashlib.sha256).digest()
    with pytest.raises(jose.JoseFailure):
        jose.verify(f"{head_body}.{_b64(mac)}", public, ["HS256", "ES256"])
    with pytest.raises(ValueError, match="no usable algorithm"):
        jose.registry(["HS256", "none"])


@pytest.mark.parametrize("name", ["jku", "x5u", "crit", "b64", "zip", "x5c"])
def test_dangerous_headers_are_refused(name: str) -> None:
    token = _forge({"alg": "ES256", name: "https://attacker.example/keys"}, {}, b"sig")
    with pytest.raises(jose.JoseFailure, match="refused header"):
        jose.unverified_header(token)


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d.e", "!!!.e30.sig", "e30.e30." + "A" * (jose.MAX_TOKEN_BYTES + 1)],
)
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(jose.JoseFailure):
        jose.unverified_header(token)


def test_a_tampered_payload_does_not_verify() -> None:
    key = keys.ephemeral_key()
    head, _, signature = jose.sign({"alg": "ES256"}, {"sub": "a"}, key.key).split(".")
    tampered = f"{head}.{_b64(json.dumps({'sub': 'b'}).encode())}.{signature}"
    with pytest.raises(jose.JoseFailure):
        jose.verify(tampered, keys.import_public_jwk(key.public_jwk()), ["ES256"])


@pytest.mark.parametrize("text", ["\ud800abc", "abc\x00"], ids=["lone surrogate", "NUL"])
def test_unstorable_text_in_a_signed_payload_or_a_header_is_refused(text: str) -> None:
    # Validly signed by its sender, but no storable text: a jti like this could be neither
    # stored nor logged (it gave a 500 when the proof's single use was recorded).
    key = keys.ephemeral_key()
    payload = json.dumps({"jti": text}).encode()  # ASCII: the character as its escape
    token = jws.serialize_compact({"alg": "ES256"}, payload, key.key)
    with pytest.raises(jose.JoseFailure, match="NUL character or a lone UTF-16 surrogate"):
        jose.verify(token, keys.import_public_jwk(key.public_jwk()), ["ES256"])
    with pytest.raises(jose.JoseFailure, match="NUL character or a lone UTF-16 surrogate"):
        jose.unverified_header(_forge({"alg": "ES256", "kid": text}, {}, b"sig"))


def test_parsed_segments_are_kept_only_when_short() -> None:
    """Headers and claims parsed before are kept (a signer repeats them), but only short ones:
    the segments of tokens nobody verified cannot fill the caches. Callers get copies."""
    short = _forge({"alg": "ES256", "kid": "k"}, {"iss": "a"}, b"sig")
    first = jose.unverified_header(short)
    first["kid"] = "changed"
    assert jose.unverified_header(short)["kid"] == "k"
    claims = jose.unverified_claims(short)
    claims["iss"] = "changed"
    assert jose.unverified_claims(short)["iss"] == "a"
    padding = "x" * jose.KEPT_SEGMENT_CHARS
    long = _forge({"alg": "ES256", "kid": padding}, {"iss": padding}, b"sig")
    kept = (jose._kept_header.cache_info().currsize, jose._kept_payload.cache_info().currsize)
    assert jose.unverified_header(long)["kid"] == padding
    assert jose.unverified_claims(long)["iss"] == padding
    assert (
        jose._kept_header.cache_info().currsize,
        jose._kept_payload.cache_info().currsize,
    ) == kept
    with pytest.raises(jose.JoseFailure, match="refused header"):
        jose.unverified_header(_forge({"alg": "ES256", "jku": padding}, {}, b"sig"))
