"""The terms of a negotiation: stored offers and agreements read as policies, the offer a
provider's negotiation is about, and the agreement a provider proposes.

Offers and agreements are stored in the compact DSP form without a context of their own (as they
appear inside a message); :meth:`Terms.parse` reads them with the DSP context.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from catalog.jsonld import JsonLdProcessor
from connector.catalogue.access import PolicyAccess
from connector.catalogue.builder import MEMBER_SEPARATOR
from connector.catalogue.offers import OfferRef
from connector.errors import BadRequest
from connector.negotiation.errors import NegotiationProtocolError
from connector.store.records import NegotiationRecord, PolicyDefinitionRecord
from policies import Policy, PolicyKind, dsp_context, parse_policy, to_dsp

PROTOCOL = "dataspace-protocol-http:2025-1"
PARSED_CACHE_SIZE = 256
"""Stored offers and agreements kept parsed (by their JSON): a node's negotiations mostly
repeat the few offers of its catalogue (or of its peers'), and reading one again costs a JSON-LD
expansion (a few hundred microseconds)."""
PARSED_CACHE_MAX_CHARS = 16_384
"""Longer documents (as canonical JSON) are parsed each time, not kept: a peer's offer may be as
large as a request body, and 256 of those would hold hundreds of megabytes."""


WITHDRAWN = "the offer is withdrawn"
NOT_ADMITTED = "the access policy of this offer does not admit this participant"


def their_pid(record: NegotiationRecord) -> str | None:
    """The pid the counterparty issued for ``record`` (None until it acknowledged our first
    message)."""
    return record.provider_pid if record.role == "consumer" else record.consumer_pid


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def same_terms(a: Policy, b: Policy) -> bool:
    """Whether two policies say the same thing (ids, target and parties aside)."""

    def terms(policy: Policy) -> Policy:
        return replace(
            policy, kind=PolicyKind.SET, uid=None, target=None, assigner=None, assignee=None
        )

    return terms(a) == terms(b)


def dataset_of(ref: OfferRef) -> str:
    """The dataset id an offer id refers to (a member of a dataset series included)."""
    return ref.asset_id if ref.member is None else ref.asset_id + MEMBER_SEPARATOR + ref.member


def dataset_id(record: NegotiationRecord) -> str:
    """The dataset a negotiation is about (the target of its offer)."""
    target = (record.offer or {}).get("target")
    return str(target) if target else record.asset_id


def offer_ref(record: NegotiationRecord) -> OfferRef | None:
    """The catalogue's offer a provider's negotiation is about: its contract definition, asset
    and series member (None: it names no contract definition, or its dataset is not its
    asset's)."""
    if record.contract_definition_id is None:
        return None
    target = dataset_id(record)
    if target == record.asset_id:
        return OfferRef(record.contract_definition_id, record.asset_id)
    prefix = record.asset_id + MEMBER_SEPARATOR
    if not target.startswith(prefix) or len(target) == len(prefix):
        return None
    return OfferRef(record.contract_definition_id, record.asset_id, target[len(prefix) :])


def required(value: Policy | None, name: str) -> Policy:
    if value is None:
        raise BadRequest(f"the message has no {name}")
    return value


class Terms:
    """Policies of negotiations, for one participant."""

    def __init__(
        self,
        *,
        participant_id: str,
        processor: JsonLdProcessor,
        access: PolicyAccess,
        clock: Callable[[], datetime],
    ) -> None:
        self.participant_id = participant_id
        self._processor = processor
        self._access = access
        self._clock = clock
        self._parsed: OrderedDict[str, Policy] = OrderedDict()
        self._parsed_lock = threading.Lock()

    def parse(self, document: dict[str, Any]) -> Policy:
        """A stored offer or agreement (DSP compact form, embedded: no context of its own).
        Policies are immutable: one parsed before from the same JSON is returned again (unless
        the document is longer than :data:`PARSED_CACHE_MAX_CHARS`)."""
        key = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if len(key) > PARSED_CACHE_MAX_CHARS:
            return parse_policy(document, processor=self._processor, context=dsp_context())
        with self._parsed_lock:
            policy = self._parsed.get(key)
            if policy is not None:
                self._parsed.move_to_end(key)
                return policy
        policy = parse_policy(document, processor=self._processor, context=dsp_context())
        with self._parsed_lock:
            self._parsed[key] = policy
            if len(self._parsed) > PARSED_CACHE_SIZE:
                self._parsed.popitem(last=False)
        return policy

    @staticmethod
    def compact(policy: Policy) -> dict[str, Any]:
        return to_dsp(policy, context=False)

    def offer(self, record: NegotiationRecord) -> Policy:
        """The last offer of the negotiation."""
        if record.offer is None:
            raise NegotiationProtocolError("this negotiation has no offer")
        return self.parse(record.offer)

    def policy(self, record: PolicyDefinitionRecord) -> Policy:
        """A stored policy definition's policy, parsed (cached by version)."""
        return self._access.policy(record)

    def agreement(self, record: NegotiationRecord, offer: Policy) -> dict[str, Any]:
        """The agreement a provider proposes: ``offer`` between this participant (assigner)
        and the counterparty (assignee), on the negotiation's dataset, signed now."""
        agreement = replace(
            offer,
            kind=PolicyKind.AGREEMENT,
            uid=new_pid(),
            target=dataset_id(record),
            assigner=self.participant_id,
            assignee=record.counterparty_id,
        )
        document = to_dsp(agreement, context=False)
        document["timestamp"] = self._clock().isoformat().replace("+00:00", "Z")
        return document
