"""The dataspace authority: an OAuth 2.0 authorization server for the participants of a dataspace.

* :mod:`.settings` — ``AuthoritySettings`` (TOML + ``ETDS_AUTHORITY_*``), production checks.
* :mod:`.signing` — the authority's signing keys and their rotation schedule; its JWKS.
* :mod:`.registry` — registering participants (validated attributes and public keys).
* :mod:`.tokens` — RFC 9068 JWT access tokens.
* :mod:`.oauth` — authlib's view of clients, token requests and errors.
* :mod:`.assertions` — ``private_key_jwt`` client authentication (RFC 7523), strict.
* :mod:`.server` — the authlib authorization server: ``client_credentials`` with
  ``resource`` (RFC 8707) and DPoP (RFC 9449).
* :mod:`.app` — ``create_authority_app(settings)``: metadata (RFC 8414), JWKS, token endpoint.
"""
