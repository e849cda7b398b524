"""Identity between organisations: OAuth 2.0 access tokens bound to the caller's key (DPoP).

The connector side (what a node needs):

* :mod:`.keys` — EC P-256 / Ed25519 key files (0600), public JWKs with RFC 7638 ``kid``s.
* :mod:`.jose` — the JWS algorithm allow-list and compact JWT signing / verification.
* :mod:`.dpop` — DPoP proofs (RFC 9449): create and check.
* :mod:`.fetch`, :mod:`.discovery`, :mod:`.jwks` — issuer metadata and key sets, fetched safely
  and cached (refetched once on an unknown ``kid``, rate-limited).
* :mod:`.claims` — :class:`~.claims.Participant` and the claim mapping of external providers.
* :mod:`.verifier` — access-token checks (RFC 9068 / RFC 8725) and the request check (token +
  DPoP proof + single-use ``jti``) that yields a participant or an administrator.
* :mod:`.dependency` — the FastAPI dependency every DSP route uses.
* :mod:`.client`, :mod:`.auth` — the outbound token client and the ``httpx.Auth`` for DSP calls.
* :mod:`.service` — :class:`~.service.NodeIdentity`, built once from the settings.
* :mod:`.settings` — ``IdentitySettings`` (a node) and ``AuthoritySettings`` (the authority).

The dataspace authority (an OAuth 2.0 authorization server built on authlib) lives in
:mod:`.authority`.
"""
