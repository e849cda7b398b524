"""Key files (0600, no accidental overwrite), RFC 7638 thumbprints, public JWKs."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey, OKPKey

from connector.identity import keys

# RFC 7638 §3.1: this key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
    "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6W"
    "eZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_the_rfc7638_example_thumbprint() -> None:
    assert keys.thumbprint(RFC7638_KEY) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(("key_type", "alg"), [("ec", "ES256"), ("ed25519", "EdDSA")])
def test_generate_write_load(tmp_path: Path, key_type: keys.KeyType, alg: str) -> None:
    path = tmp_path / "node.pem"
    private_key = keys.generate_key(key_type)
    keys.write_private_key(path, keys.private_key_pem(private_key))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = keys.load_signing_key(path)
    assert loaded.alg == alg
    assert loaded.kid == loaded.key.thumbprint() == keys.signing_key(private_key).kid
    jwk = loaded.public_jwk()
    assert jwk["kid"] == loaded.kid
    assert jwk["alg"] == alg
    assert jwk["use"] == "sig"
    assert "d" not in jwk
    assert keys.read_public_jwk(path) == jwk


def test_the_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        keys.write_private_key(tmp_path / "k.pem", b"pem")
        keys.write_private_key(tmp_path / "k.pem", b"again", overwrite=True)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert (tmp_path / "k.pem").read_bytes() == b"again"


def test_an_existing_file_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        keys.write_private_key(path, b"new")
    assert path.read_bytes() == b"precious"
    keys.write_private_key(path, b"new", overwrite=True)
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]  # no temporary file left


def test_public_files_in_every_form_give_the_same_jwk(tmp_path: Path) -> None:
    private_key = keys.generate_key("ec")
    expected = keys.signing_key(private_key).public_jwk()
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "public.pem").write_bytes(public_pem)
    (tmp_path / "public.jwk").write_text(
        json.dumps({"kty": "EC", **{k: expected[k] for k in ("crv", "x", "y")}})
    )
    assert keys.read_public_jwk(tmp_path / "public.pem") == expected
    assert keys.read_public_jwk(tmp_path / "public.jwk") == expected


def test_unusable_keys_are_refused(tmp_path: Path) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "p384.pem").write_bytes(
        p384.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(keys.InvalidKey, match="P-256"):
        keys.load_signing_key(tmp_path / "p384.pem")
    (tmp_path / "garbage.pem").write_text("not a key")
    with pytest.raises(keys.InvalidKey, match="not an unencrypted PEM"):
        keys.load_signing_key(tmp_path / "garbage.pem")
    with pytest.raises(keys.InvalidKey, match="neither a JWK nor a PEM"):
        keys.read_public_jwk(tmp_path / "garbage.pem")
    with pytest.raises(keys.InvalidKey, match="cannot read"):
        keys.load_signing_key(tmp_path / "missing.pem")


def test_private_or_foreign_jwks_are_refused() -> None:
    private = ECKey.generate_key("P-256").as_dict(private=True)
    with pytest.raises(keys.InvalidKey, match="private key material"):
        keys.import_public_jwk(private)
    with pytest.raises(keys.InvalidKey, match="P-256"):
        keys.import_public_jwk(ECKey.generate_key("P-384").as_dict())
    with pytest.raises(keys.InvalidKey, match="Ed25519"):
        keys.import_public_jwk(OKPKey.generate_key("Ed448").as_dict())
    with pytest.raises(keys.InvalidKey, match="private key material"):
        keys.import_public_jwk({"kty": "oct", "k": "c2VjcmV0"})  # a shared secret, never
    with pytest.raises(keys.InvalidKey, match="unsupported key type"):
        keys.import_public_jwk({"kty": "oct"})
    with pytest.raises(keys.InvalidKey, match="unsupported key type"):
        keys.import_public_jwk(RFC7638_KEY)  # RSA only where an issuer allows it
    assert keys.import_public_jwk(RFC7638_KEY, allow_rsa=True).kid == "2011-04-29"


def test_a_jwk_without_kid_gets_its_thumbprint() -> None:
    jwk = OKPKey.generate_key("Ed25519").as_dict()
    assert keys.import_public_jwk(jwk).kid == keys.thumbprint(jwk)


def test_ephemeral_keys_differ() -> None:
    assert keys.ephemeral_key().kid != keys.ephemeral_key().kid
