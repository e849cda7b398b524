"""Who sees what in the catalogue, and the offers they see: the seam between the catalogue and
the policy engine.

A contract definition is visible to a requester when its **access policy**, evaluated in the
``catalog`` scope against the requester's verified claims, allows it; a dataset is visible when
at least one visible definition selects it, and its offers are those definitions' **contract
policies**. Decisions are made once per definition per request (never per dataset), so their
cost does not grow with the number of datasets. A policy this version of the node cannot read
(stored by an older version) is never an error of the request: an access policy is a denial, a
contract policy makes no offer (:meth:`CatalogueAccess.unreadable`); either is logged as a
warning naming the definition and the policy.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from catalog.jsonld import JsonLdProcessor
from connector.catalogue.offers import OfferRef
from connector.store.records import ContractDefinitionRecord, PolicyDefinitionRecord
from policies import EvaluationContext, Evaluator, Policy, PolicyError, Scope, parse_policy, to_dsp

log = logging.getLogger("etds.catalogue")


class CatalogueAccess(Protocol):
    """Decides visibility and writes offers (the policy engine implements it)."""

    def visible(
        self,
        claims: Mapping[str, Any],
        definitions: Sequence[ContractDefinitionRecord],
        policies: Mapping[str, PolicyDefinitionRecord],
        now: datetime,
    ) -> list[ContractDefinitionRecord]: ...

    def unreadable(
        self, definition: ContractDefinitionRecord, contract_policy: PolicyDefinitionRecord
    ) -> str | None: ...

    def offer(self, ref: OfferRef, contract_policy: PolicyDefinitionRecord) -> dict[str, Any]: ...


class PolicyAccess:
    """:class:`CatalogueAccess` by the ODRL engine; parsed policies are cached by version."""

    def __init__(self, processor: JsonLdProcessor, evaluator: Evaluator, cache_size: int = 512):
        self._processor = processor
        self._evaluator = evaluator
        self._cache: OrderedDict[tuple[str, int], Policy] = OrderedDict()
        self._offer_bodies: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # requests are served from several threads

    def policy(self, record: PolicyDefinitionRecord) -> Policy:
        """The stored policy, parsed (``PolicyError`` if it cannot be)."""
        key = (record.id, record.version)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        parsed = parse_policy(record.policy, processor=self._processor)
        with self._lock:
            self._cache[key] = parsed
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return parsed

    def visible(
        self,
        claims: Mapping[str, Any],
        definitions: Sequence[ContractDefinitionRecord],
        policies: Mapping[str, PolicyDefinitionRecord],
        now: datetime,
    ) -> list[ContractDefinitionRecord]:
        context = EvaluationContext(scope=Scope.CATALOG, claims=claims, now=now)
        allowed = []
        for definition in definitions:
            record = policies.get(definition.access_policy_id)
            if record is None or definition.contract_policy_id not in policies:
                continue
            try:
                decision = self._evaluator.evaluate(self.policy(record), context)
            except PolicyError as exc:
                log.warning(
                    "access policy unreadable: definition hidden",
                    extra={"definition": definition.id, "policy": record.id, "error": str(exc)},
                )
                continue
            if decision.allowed:
                allowed.append(definition)
        return allowed

    def unreadable(
        self, definition: ContractDefinitionRecord, contract_policy: PolicyDefinitionRecord
    ) -> str | None:
        """Why ``definition`` can make no offer under its ``contract_policy``: this node cannot
        read that policy (logged as a warning); None when it can make one."""
        try:
            self._offer_body(contract_policy)
        except PolicyError as exc:
            log.warning(
                "contract policy unreadable: no offer made",
                extra={
                    "definition": definition.id,
                    "policy": contract_policy.id,
                    "error": str(exc),
                },
            )
            return str(exc)
        return None

    def offer(self, ref: OfferRef, contract_policy: PolicyDefinitionRecord) -> dict[str, Any]:
        """Offer ``ref`` under ``contract_policy`` (``PolicyError`` when it cannot be read:
        callers ask :meth:`unreadable` first)."""
        # a shallow copy with its own @id; the shared rule lists are never mutated
        return {**self._offer_body(contract_policy), "@id": ref.id, "@type": "Offer"}

    def _offer_body(self, contract_policy: PolicyDefinitionRecord) -> dict[str, Any]:
        """The offers' shared body for ``contract_policy`` (cached by version)."""
        key = (contract_policy.id, contract_policy.version)
        with self._lock:
            body = self._offer_bodies.get(key)
        if body is None:
            body = to_dsp(self.policy(contract_policy), context=False)
            body.pop("target", None)
            with self._lock:
                self._offer_bodies[key] = body
                if len(self._offer_bodies) > self._cache_size:
                    self._offer_bodies.popitem(last=False)
        return body
