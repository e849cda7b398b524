"""Identity between organisations: OAuth 2.0 access tokens bound to the caller's key (DPoP).

The connector side (what a node needs):

* :mod:`.settings` — ``IdentitySettings`` (a node's ``[identity]`` section), ``TrustedIssuer``.
* :mod:`.keys` — EC P-256 / Ed25519 key files (0600), public JWKs with RFC 7638 ``kid``s.
* :mod:`.algorithms`, :mod:`.jose` — the JWS algorithm allow-list; compact JWT sign / verify.
* :mod:`.dpop` — DPoP proofs (RFC 9449): create and check.
* :mod:`.fetch`, :mod:`.discovery`, :mod:`.jwks` — issuer metadata and key sets, fetched safely
  and cached (refetched once on an unknown ``kid``, rate-limited).
* :mod:`.claims` — :class:`~.claims.Participant` and the claim mapping of external providers.
* :mod:`.verifier` — access-token checks (RFC 9068 profile, RFC 8725 rules), issuer by issuer.
* :mod:`.replay` — single use of proofs and client assertions (an atomic database insert).
* :mod:`.access` — the check of one request: token + DPoP proof + single use.
* :mod:`.dependency` — where an application keeps its identity; the DSP route dependency.
* :mod:`.client`, :mod:`.auth` — the outbound token client and the ``httpx.Auth`` for DSP calls.
* :mod:`.service` — :class:`~.service.NodeIdentity`, built once from the settings.

The dataspace authority (an OAuth 2.0 authorization server built on authlib, with its own
settings) lives in :mod:`.authority`.
"""
