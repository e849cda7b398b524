"""The body of ``POST /policydefinitions/{id}/explain``: a hypothetical request to evaluate.

Plain JSON (not JSON-LD), every member checked for its type::

    {"scope": "catalog" | "negotiation" | "transfer" | "dataplane",
     "claims": {"sub": "...", "membership": "...", "org_type": "...", "country": "FR",
                "nuts": ["FRJ"], "scope": "...", "client_id": "..."},
     "purpose": "https://w3id.org/dpv#ProvideOfficialStatistics",   (optional)
     "now": "2025-06-01T12:00:00Z",                                  (optional; default: now)
     "agreementSignedAt": "2025-01-01T00:00:00Z",                    (optional)
     "agreementId": "...",                                           (optional)
     "transferCount": 1}                                             (optional)

The claims go through the same normalisation as the claims of a verified token
(:func:`connector.identity.claims.map_claims`), so the evaluation sees exactly what it would see
for a real requester: ``sub`` is required, ``nuts`` is a string or a list of strings, the others
strings. An unknown claim name is refused rather than ignored (a misspelt claim would otherwise
read as missing and explain a denial the administrator did not ask about).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from connector.errors import BadRequest, FieldError
from connector.http.jsonbody import read_json
from connector.identity.claims import ClaimError, map_claims
from connector.identity.settings import CLAIM_NAMES
from policies import AgreementFacts, EvaluationContext, Scope

MAX_TEXT = 512
EXPLAIN_FIELDS = frozenset(
    {"scope", "claims", "purpose", "now", "agreementSignedAt", "agreementId", "transferCount"}
)
DEFAULT_AGREEMENT_ID = "urn:etds:explain:agreement"
"""The agreement id evaluated when ``agreementSignedAt`` is given without ``agreementId``."""


def _bad(location: str, message: str) -> BadRequest:
    return BadRequest(f"{location}: {message}", errors=[FieldError(location, message)])


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise _bad(name, f"must be a non-empty string of at most {MAX_TEXT} characters")
    return value


def _moment(body: dict[str, Any], name: str) -> datetime | None:
    text = _text(body, name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(name, "must be an xsd:dateTime such as 2025-06-01T12:00:00Z") from None
    if moment.tzinfo is None:
        raise _bad(name, "must have a time zone (Z or ±hh:mm)")
    return moment


def _scope(body: dict[str, Any]) -> Scope:
    raw = body.get("scope")
    if raw is None:
        raise _bad("scope", "is required")
    allowed = ", ".join(scope.value for scope in Scope)
    if not isinstance(raw, str) or raw not in {scope.value for scope in Scope}:
        raise _bad("scope", f"must be one of {allowed}")
    return Scope(raw)


def _claims(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("claims")
    if not isinstance(raw, dict):
        raise _bad("claims", "must be an object of the requester's claims (at least 'sub')")
    unknown = sorted(set(raw) - set(CLAIM_NAMES))
    if unknown:
        raise _bad("claims", f"unknown claim(s) {', '.join(unknown)}; use {', '.join(CLAIM_NAMES)}")
    try:
        return map_claims(raw, {})
    except ClaimError as exc:
        raise _bad("claims", str(exc)) from None


def _transfer_count(body: dict[str, Any]) -> int | None:
    raw = body.get("transferCount")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise _bad("transferCount", "must be an integer ≥ 0")
    return raw


def explain_context(document: Any, *, now: datetime) -> EvaluationContext:
    """The evaluation context an explain body describes (``now`` unless it names a time)."""
    if not isinstance(document, dict):
        raise BadRequest("the request body must be a JSON object")
    unknown = sorted(set(document) - EXPLAIN_FIELDS)
    if unknown:
        raise _bad(unknown[0], f"unknown member; use {', '.join(sorted(EXPLAIN_FIELDS))}")
    scope = _scope(document)
    claims = _claims(document)
    signed_at = _moment(document, "agreementSignedAt")
    agreement_id = _text(document, "agreementId")
    if agreement_id is not None and signed_at is None:
        raise _bad("agreementSignedAt", "is required with agreementId")
    agreement = (
        AgreementFacts(agreement_id or DEFAULT_AGREEMENT_ID, signed_at)
        if signed_at is not None
        else None
    )
    return EvaluationContext(
        scope=scope,
        claims=claims,
        now=_moment(document, "now") or now,
        purpose=_text(document, "purpose"),
        agreement=agreement,
        transfer_count=_transfer_count(document),
    )


async def explain_body(request: Request) -> EvaluationContext:
    """Dependency: the request's explain body as an evaluation context (at the current time)."""
    return explain_context(await read_json(request), now=datetime.now(UTC))
