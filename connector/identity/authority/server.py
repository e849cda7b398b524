"""The authority's OAuth 2.0 token endpoint logic, on authlib's framework-agnostic server.

One grant: ``client_credentials`` (RFC 6749 §4.4), one client authentication:
``private_key_jwt`` (RFC 7523 §2.2, see :mod:`.assertions`). On top of authlib's flow:

* every parameter appears at most once; ``resource`` (RFC 8707) is required, once: a registered,
  active participant id for protocol scopes, or one of the client's registered audiences for
  management scopes (the two kinds are never mixed in one token);
* a DPoP proof (RFC 9449) binds the token to the client's key (``cnf.jkt``); required unless the
  authority is configured otherwise; its ``jti`` is single use.

Only active participants authenticate: a suspended or revoked one gets ``invalid_client``, like
an unknown one. Error answers are RFC 6749 §5.2 JSON; client-authentication failures are generic
to the caller and detailed in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant  # type: ignore[import-untyped]

from connector.identity import replay
from connector.identity.authority.assertions import PrivateKeyJwt
from connector.identity.authority.oauth import (
    GRANT_TYPE,
    PRIVATE_KEY_JWT,
    Grant,
    InvalidDpopProofError,
    InvalidTargetError,
    RegisteredClient,
    Response,
    ServerError,
    TokenRequest,
    refuse,
)
from connector.identity.authority.registry import MANAGEMENT_SCOPES, PROTOCOL_SCOPE
from connector.identity.authority.settings import AuthoritySettings
from connector.identity.authority.signing import NoActiveKey, SigningKeys
from connector.identity.authority.tokens import IssuedToken, issue_access_token
from connector.identity.dpop import DpopFailure, replay_expiry, verify_proof
from connector.store.database import Database
from connector.store.repositories.participants import ParticipantRecord, ParticipantRepository

log = logging.getLogger("etds.authority")

_PARAMETERS = frozenset(
    {"grant_type", "client_assertion_type", "client_assertion", "resource", "scope", "client_id"}
)
Clock = Callable[[], float]
__all__ = ["GRANT_TYPE", "PRIVATE_KEY_JWT", "AuthorityServer", "Clock", "TokenRequest"]


class _ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [PRIVATE_KEY_JWT]  # noqa: RUF012 - authlib's class attribute

    def validate_token_request(self) -> None:
        request: TokenRequest = self.request
        repeated = sorted(
            name for name, values in request.payload.datalist.items() if len(values) > 1
        )
        if repeated:  # names are the client's text: only known ones go into the answer
            known = [name for name in repeated if name in _PARAMETERS]
            raise InvalidRequestError(
                description=f"repeated parameter: {', '.join(known) or 'unknown'}"
            )
        super().validate_token_request()
        server: AuthorityServer = self.server
        client: RegisteredClient = request.client
        scopes = server.granted_scopes(client.record, request.payload.scope)
        resource = request.payload.data.get("resource")
        server.check_resource(client.record, resource, scopes)
        assert resource is not None
        request.grant = Grant(resource, scopes, server.dpop_thumbprint(request))

    def create_token_response(self) -> Response:
        request: TokenRequest = self.request
        assert request.grant is not None
        server: AuthorityServer = self.server
        issued = server.issue(request.client.record, request.grant)
        log.info(
            "token issued",
            extra={"client_id": request.client.record.id, "aud": request.grant.resource},
        )
        return 200, issued.response(), list(self.TOKEN_RESPONSE_HEADER)


class AuthorityServer(AuthorizationServer):  # type: ignore[misc]
    """The authorization server: participants from ``database``, keys from ``keys``."""

    def __init__(
        self,
        settings: AuthoritySettings,
        database: Database,
        keys: SigningKeys,
        *,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(scopes_supported=None)
        self.settings = settings
        self.database = database
        self.keys = keys
        self.clock = clock
        self.replay = replay.ReplayGuard(database)
        self.token_endpoint = settings.issuer + "/token"
        self.register_client_auth_method(PRIVATE_KEY_JWT, PrivateKeyJwt(self))
        self.register_grant(_ClientCredentials)

    # authlib's integration points ------------------------------------------------------------

    def query_client(self, client_id: str) -> RegisteredClient | None:
        with self.database.read() as session:
            record = ParticipantRepository(session).find(client_id)
        if record is None or record.status != "active":
            log.info("token refused", extra={"client_id": client_id, "reason": "not active"})
            return None
        return RegisteredClient(record)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to store: JWT access tokens are self-contained."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signals are not used."""

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        return status, body, list(headers)

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Response:
        detail = getattr(error, "log_detail", None) or error.description
        log.info("token request refused", extra={"error": error.error, "log_detail": detail})
        if isinstance(error, InvalidClientError):
            error.description = "client authentication failed"
        return self.handle_response(*error(self.get_error_uri(request, error)))

    # The dataspace's rules -------------------------------------------------------------------

    def granted_scopes(self, client: ParticipantRecord, requested: str | None) -> tuple[str, ...]:
        """The scopes asked for (default: the client's protocol scope), all allowed to it."""
        if requested is None or not requested.strip():
            if PROTOCOL_SCOPE not in client.scopes:
                raise InvalidScopeError(description="give the scope to request")
            return (PROTOCOL_SCOPE,)
        scopes = tuple(dict.fromkeys(requested.split()))
        if not set(scopes) <= set(client.scopes):
            raise InvalidScopeError(description="a requested scope is not allowed for this client")
        management = MANAGEMENT_SCOPES.intersection(scopes)
        if management and len(management) != len(scopes):
            raise InvalidScopeError(description="management and protocol scopes are never mixed")
        return scopes

    def check_resource(
        self, client: ParticipantRecord, resource: str | None, scopes: tuple[str, ...]
    ) -> None:
        """Refuse a ``resource`` the token may not be for."""
        if not resource:
            raise InvalidTargetError(description="the resource parameter is required")
        if MANAGEMENT_SCOPES.intersection(scopes):
            if resource not in client.audiences:
                raise InvalidTargetError(description="this client may not ask for that resource")
            return
        with self.database.read() as session:
            target = ParticipantRepository(session).find(resource)
        if target is None or target.status != "active":
            raise InvalidTargetError(description="the resource is not an active participant")

    def dpop_thumbprint(self, request: TokenRequest) -> str | None:
        """The thumbprint of the key a valid DPoP proof proved; None without a proof."""
        if not request.dpop_proofs:
            if self.settings.require_dpop:
                raise InvalidDpopProofError(description="a DPoP proof is required")
            return None
        if len(request.dpop_proofs) != 1:
            raise InvalidDpopProofError(description="send exactly one DPoP header")
        now, settings = self.clock(), self.settings
        try:
            proof = verify_proof(
                request.dpop_proofs[0],
                method="POST",
                url=self.token_endpoint,
                now=now,
                max_age=settings.dpop_max_age_seconds,
                leeway=settings.leeway_seconds,
            )
        except DpopFailure as failure:
            raise refuse(InvalidDpopProofError, "invalid DPoP proof", str(failure)) from None
        expires = replay_expiry(
            proof, max_age=settings.dpop_max_age_seconds, leeway=settings.leeway_seconds
        )
        if not self.replay.first_use(
            replay.DPOP, proof.jkt, proof.jti, expires_at=expires, now=now
        ):
            raise refuse(InvalidDpopProofError, "invalid DPoP proof", "DPoP proof replayed")
        return proof.jkt

    def issue(self, participant: ParticipantRecord, grant: Grant) -> IssuedToken:
        """Sign the access token of ``grant``."""
        now = self.clock()
        try:
            key = self.keys.signing_key(datetime.fromtimestamp(now, tz=UTC))
        except NoActiveKey as error:
            raise refuse(ServerError, "the authority cannot sign tokens now", str(error)) from None
        return issue_access_token(
            key,
            issuer=self.settings.issuer,
            participant=participant,
            audience=grant.resource,
            scopes=grant.scopes,
            now=int(now),
            lifetime=self.settings.token_lifetime_seconds,
            jkt=grant.jkt,
        )
