"""Signing keys: EC P-256 (ES256) or Ed25519 (EdDSA), in PEM files only their owner can read.

* :func:`generate_key` makes a key with ``cryptography``; :func:`write_private_key` writes it as
  PKCS#8 PEM into a file created with mode 0600 (never widened by the umask, never overwriting an
  existing file unless asked, and then replaced atomically).
* :func:`load_signing_key` reads such a file back as a :class:`SigningKey`: the joserfc key, its
  algorithm and its ``kid`` — the RFC 7638 thumbprint of the public key, so the same key has the
  same ``kid`` everywhere without anyone choosing it.
* :func:`public_jwk` / :func:`import_public_jwk` / :func:`read_public_jwk` handle the public side
  (what an authority registers for a participant, what a JWKS publishes).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key

from connector.identity.algorithms import Algorithm
from connector.identity.jose import algorithm_for, b64url

KeyType = Literal["ec", "ed25519"]
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
MAX_KEY_FILE_BYTES = 64 * 1024

# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class InvalidKey(ValueError):
    """A key file or JWK that cannot be used; the message says why."""


@dataclass(frozen=True)
class SigningKey:
    """A private signing key with its algorithm and RFC 7638 ``kid``."""

    key: Key
    alg: Algorithm
    kid: str

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK (``kid``, ``alg``, ``use: sig``), as published in a JWKS (a copy
        of the one computed once for this key)."""
        return dict(self._public_jwk)

    @functools.cached_property
    def _public_jwk(self) -> dict[str, Any]:
        # Its thumbprint hashes canonical JSON: worth computing once, not for every DPoP proof.
        return public_jwk(self.key)

    @property
    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint (equal to ``kid``): what DPoP's ``cnf.jkt`` binds to."""
        return self.kid


def generate_key(key_type: KeyType) -> PrivateKey:
    """A new private key: EC on P-256 (``"ec"``) or Ed25519 (``"ed25519"``)."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise InvalidKey(f"unknown key type {key_type!r} (use ec or ed25519)")


def private_key_pem(private_key: PrivateKey) -> bytes:
    """``private_key`` as unencrypted PKCS#8 PEM (protected by the file's permissions)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private_key(path: Path, pem: bytes, *, overwrite: bool = False) -> None:
    """Write ``pem`` to ``path`` with mode 0600.

    Without ``overwrite`` the file must not exist (``FileExistsError``); with it, the new file is
    written beside the old one and renamed over it, so no reader ever sees half a key.
    """
    if not overwrite:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        _write_all(descriptor, pem)
        return
    descriptor, temporary = tempfile.mkstemp(prefix=".key-", dir=path.parent or Path())
    try:
        _write_all(descriptor, pem)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_all(descriptor: int, data: bytes) -> None:
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb", closefd=False) as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    finally:
        os.close(descriptor)


def signing_key(private_key: PrivateKey) -> SigningKey:
    """The :class:`SigningKey` of a ``cryptography`` private key."""
    key: Key
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise InvalidKey(f"EC keys must use P-256, not {private_key.curve.name}")
        key = ECKey.import_key(private_key)
    elif isinstance(private_key, ed25519.Ed25519PrivateKey):
        key = OKPKey.import_key(private_key)
    else:
        raise InvalidKey("signing keys are EC P-256 or Ed25519")
    return SigningKey(key=key, alg=algorithm_for(key), kid=thumbprint(key.as_dict()))


def load_signing_key(path: Path) -> SigningKey:
    """Read an unencrypted PEM private key (EC P-256 or Ed25519) from ``path``."""
    data = _read_small(path)
    try:
        private_key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise InvalidKey(f"{path}: not an unencrypted PEM private key ({error})") from None
    if not isinstance(private_key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise InvalidKey(f"{path}: signing keys are EC P-256 or Ed25519")
    try:
        return signing_key(private_key)
    except InvalidKey as error:
        raise InvalidKey(f"{path}: {error}") from None


def ephemeral_key(key_type: KeyType = "ec") -> SigningKey:
    """A key that lives in memory only (a node's DPoP key, renewed at each start)."""
    return signing_key(generate_key(key_type))


def _read_small(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidKey(f"cannot read {path} ({error.strerror})") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise InvalidKey(f"{path}: larger than {MAX_KEY_FILE_BYTES} bytes, not a key file")
    return data


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public (or private) JWK, base64url."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise InvalidKey(f"unsupported key type {jwk.get('kty')!r}")
    try:
        required = {name: jwk[name] for name in members}
    except KeyError as missing:
        raise InvalidKey(f"the JWK lacks {missing.args[0]!r}") from None
    if not all(isinstance(value, str) for value in required.values()):
        raise InvalidKey("JWK members must be strings")
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(key: Key) -> dict[str, Any]:
    """The public JWK of ``key`` with ``kid`` (thumbprint), ``alg`` and ``use``."""
    jwk = {k: v for k, v in key.as_dict(private=False).items() if k not in ("kid", "alg", "use")}
    jwk["kid"] = thumbprint(jwk)
    if not isinstance(key, RSAKey):
        jwk["alg"] = algorithm_for(key)
    jwk["use"] = "sig"
    return jwk


def import_public_jwk(jwk: Mapping[str, Any], *, allow_rsa: bool = False) -> Key:
    """A joserfc public key from ``jwk``: EC P-256 or Ed25519 (RSA ≥ 2048 bits if allowed).

    Private members are refused (a public-key registry must never hold them). A JWK without
    ``kid`` gets its thumbprint.
    """
    if not isinstance(jwk, Mapping):
        raise InvalidKey("a JWK must be a JSON object")
    if _PRIVATE_MEMBERS.intersection(jwk):
        raise InvalidKey("the JWK holds private key material; give the public key only")
    kty = jwk.get("kty")
    if kty == "EC" and jwk.get("crv") != "P-256":
        raise InvalidKey("EC keys must use the P-256 curve")
    if kty == "OKP" and jwk.get("crv") != "Ed25519":
        raise InvalidKey("OKP keys must use the Ed25519 curve")
    if kty not in ("EC", "OKP") and not (kty == "RSA" and allow_rsa):
        raise InvalidKey(f"unsupported key type {kty!r}")
    members = {k: v for k, v in jwk.items() if isinstance(v, str) or k == "key_ops"}
    try:
        key = import_key(dict(members))
    except (JoseError, ValueError, TypeError) as error:
        raise InvalidKey(f"invalid JWK ({error})") from None
    if isinstance(key, RSAKey) and key.public_key.key_size < 2048:
        raise InvalidKey("RSA keys shorter than 2048 bits are refused")
    if key.kid is None:
        key.ensure_kid()
    return key


def read_public_jwk(path: Path) -> dict[str, Any]:
    """The public JWK in ``path``: a JWK (JSON), or a PEM public or private key (only its public
    half is kept). The result carries ``kid``, ``alg`` and ``use``."""
    data = _read_small(path)
    text = data.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise InvalidKey(f"{path}: not valid JSON") from None
        return public_jwk(import_public_jwk(parsed))
    try:
        public: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            public = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise InvalidKey(f"{path}: neither a JWK nor a PEM key") from None
    if isinstance(public, rsa.RSAPublicKey):
        raise InvalidKey(f"{path}: participant keys are EC P-256 or Ed25519")
    key: Key
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        key = ECKey.import_key(public)
    elif isinstance(public, ed25519.Ed25519PublicKey):
        key = OKPKey.import_key(public)
    else:
        raise InvalidKey(f"{path}: participant keys are EC P-256 or Ed25519")
    return public_jwk(key)
