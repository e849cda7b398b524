"""authlib's view of the authority's objects: clients, token requests, OAuth errors.

authlib's server core is framework-agnostic; an integration supplies the client model
(:class:`RegisteredClient`, an active participant), the request (:class:`TokenRequest`, built
from a parsed form and the DPoP headers) and whatever error types its grants raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    ClientMixin,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.requests import OAuth2Payload  # type: ignore[import-untyped]

from connector.store.repositories.participants import ParticipantRecord

PRIVATE_KEY_JWT = "private_key_jwt"
GRANT_TYPE = "client_credentials"
Response = tuple[int, Any, list[tuple[str, str]]]


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 §2: the requested resource is missing, repeated, unknown or not allowed."""

    error = "invalid_target"


class InvalidDpopProofError(OAuth2Error):  # type: ignore[misc]
    """RFC 9449 §5: the DPoP proof is missing or invalid."""

    error = "invalid_dpop_proof"


class ServerError(OAuth2Error):  # type: ignore[misc]
    error = "server_error"
    status_code = 500


def refuse(error: type[OAuth2Error], public: str, detail: str) -> OAuth2Error:
    """An OAuth error with a ``public`` description; ``detail`` goes to the log only."""
    refused = error(description=public)
    refused.log_detail = detail
    return refused


class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """An active participant, as authlib sees a client."""

    def __init__(self, record: ParticipantRecord) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in self.record.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == PRIVATE_KEY_JWT and endpoint == "token"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE


class _FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, form: Mapping[str, list[str]]) -> None:
        self._datalist = {name: list(values) for name, values in form.items()}

    @property
    def data(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._datalist.items() if values}

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class TokenRequest(OAuth2Request):  # type: ignore[misc]
    """A token request: the parsed form (every value of each name) and the DPoP headers."""

    def __init__(self, uri: str, form: Mapping[str, list[str]], dpop_proofs: list[str]) -> None:
        super().__init__("POST", uri, headers={})
        self.payload = _FormPayload(form)
        self.dpop_proofs = dpop_proofs
        self.grant: Grant | None = None

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data

    @property
    def args(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Grant:
    resource: str
    scopes: tuple[str, ...]
    jkt: str | None
