"""The per-requester catalogue: which datasets a requester sees, a page at a time.

A request costs a fixed number of SQL statements whatever the number of datasets: the contract
definitions (one), their policies (one), the page (one — see
:meth:`~connector.store.repositories.catalogue.CatalogueRepository.page`). Access policies are
decided once per definition; datasets no visible definition selects are not on the page, and
asking for one of them is answered as for an unknown dataset. A definition whose contract
policy this node cannot read makes no offer: it is left out as if it did not exist (and a
warning logged, once per request).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Select

from catalog.dsp import dataset_to_dsp
from catalog.model import Catalog, Dataset, Offer
from catalog.regions import region_code
from catalog.search import SearchQuery
from connector.catalogue.access import CatalogueAccess
from connector.catalogue.builder import DatasetBuilder, Publication, series_members, split_member
from connector.catalogue.offers import OfferRef
from connector.errors import BadRequest, NotFound
from connector.http.jsonbody import is_text
from connector.store.database import Database
from connector.store.errors import InvalidQuery
from connector.store.errors import NotFound as StoreNotFound
from connector.store.query import Criterion, QuerySpec
from connector.store.records import AssetRecord, ContractDefinitionRecord, PolicyDefinitionRecord
from connector.store.repositories.catalogue import (
    CatalogueFilters,
    CatalogueItem,
    CatalogueRepository,
    selecting,
)
from connector.store.repositories.contract_definitions import ContractDefinitionRepository
from connector.store.repositories.policies import PolicyDefinitionRepository

log = logging.getLogger("etds.catalogue")
DEFINITIONS_PAGE = 1000
SELECTING_CACHE_SIZE = 256


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or before) an asset id. Opaque to requesters."""

    after: str | None = None
    before: str | None = None

    def token(self) -> str:
        data = {"a": self.after} if self.after is not None else {"b": self.before}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode())
            data = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise BadRequest("invalid continuation token") from None
        if not isinstance(data, dict) or len(data) != 1:
            raise BadRequest("invalid continuation token")
        key, value = next(iter(data.items()))
        if key not in ("a", "b") or not isinstance(value, str) or len(value) > 256:
            raise BadRequest("invalid continuation token")
        if not is_text(value):
            raise BadRequest("invalid continuation token")
        return cls(after=value) if key == "a" else cls(before=value)


@dataclass(frozen=True)
class CataloguePage:
    catalogue: Catalog
    next: Cursor | None
    previous: Cursor | None


def _moment(value: date | None, *, end: bool = False) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)


def store_filters(query: SearchQuery) -> CatalogueFilters:
    """The store's filters for a search query (places as NUTS codes)."""
    codes = tuple(code for code in (region_code(place) for place in query.spatial) if code)
    temporal = None
    if query.start is not None or query.end is not None:
        temporal = (_moment(query.start), _moment(query.end, end=True))
    return CatalogueFilters(
        keywords=query.terms,
        themes=query.themes,
        spatial=codes,
        modified_since=_moment(query.modified_since),
        temporal=temporal,
    )


def selector_criteria(selector: Sequence[Mapping[str, Any]]) -> list[Criterion]:
    """A stored ``assetsSelector`` (criteria with full-IRI or column operands) as criteria."""
    return [Criterion(c["operandLeft"], c["operator"], c.get("operandRight")) for c in selector]


@dataclass(frozen=True)
class OfferedContract:
    """An offer as the catalogue shows it to a requester, and the records it comes from."""

    definition: ContractDefinitionRecord
    contract_policy: PolicyDefinitionRecord
    offer: Offer


class CatalogueService:
    """Builds catalogue pages and datasets for requesters."""

    def __init__(
        self,
        database: Database,
        access: CatalogueAccess,
        publication: Publication,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._access = access
        self._publication = publication
        self._builder = DatasetBuilder(publication)
        self._clock = clock
        # (backend, the selector's JSON) → its offer-check statement (see offer()), bounded
        self._selecting_kept = functools.lru_cache(maxsize=SELECTING_CACHE_SIZE)(self._selecting)

    @property
    def publication(self) -> Publication:
        return self._publication

    def _definitions(
        self, session: Any
    ) -> tuple[list[ContractDefinitionRecord], dict[str, PolicyDefinitionRecord]]:
        """Every contract definition that can make offers (a usable selector, a contract policy
        this node can read), and the policies they name."""
        definitions: list[ContractDefinitionRecord] = []
        repository = ContractDefinitionRepository(session)
        while True:
            batch = repository.query(QuerySpec(offset=len(definitions), limit=DEFINITIONS_PAGE))
            definitions.extend(batch)
            if len(batch) < DEFINITIONS_PAGE:
                break
        wanted = {d.access_policy_id for d in definitions} | {
            d.contract_policy_id for d in definitions
        }
        policies = PolicyDefinitionRepository(session).get_many(sorted(wanted)) if wanted else {}
        usable = []
        for definition in definitions:
            if definition.contract_policy_id not in policies:
                continue
            try:
                selector_criteria(definition.assets_selector)
            except (InvalidQuery, KeyError, TypeError):
                log.warning("contract definition selector unusable", extra={"id": definition.id})
                continue
            contract = policies[definition.contract_policy_id]
            if self._access.unreadable(definition, contract) is not None:
                continue
            usable.append(definition)
        return usable, policies

    def _visible(
        self, session: Any, claims: Mapping[str, Any]
    ) -> tuple[list[ContractDefinitionRecord], dict[str, PolicyDefinitionRecord]]:
        definitions, policies = self._definitions(session)
        return self._access.visible(claims, definitions, policies, self._clock()), policies

    def _offers(
        self,
        item: CatalogueItem,
        definitions: list[ContractDefinitionRecord],
        policies: Mapping[str, PolicyDefinitionRecord],
    ) -> Callable[[str | None], tuple[Offer, ...]]:
        matched = [definitions[index] for index in item.matched if index < len(definitions)]

        def offers_for(member: str | None) -> tuple[Offer, ...]:
            return tuple(
                self._access.offer(
                    OfferRef(definition.id, item.asset.id, member),
                    policies[definition.contract_policy_id],
                )
                for definition in matched
            )

        return offers_for

    def _items(
        self,
        claims: Mapping[str, Any],
        filters: CatalogueFilters,
        cursor: Cursor | None,
        limit: int,
    ) -> tuple[list[Dataset], bool, list[CatalogueItem]]:
        with self._database.read() as session:
            definitions, policies = self._visible(session, claims)
            selectors = [selector_criteria(d.assets_selector) for d in definitions]
            page = CatalogueRepository(session).page(
                selectors,
                filters,
                after=cursor.after if cursor else None,
                before=cursor.before if cursor else None,
                limit=limit,
            )
        datasets: list[Dataset] = []
        for item in page.items:
            datasets.extend(self._built(item, self._offers(item, definitions, policies)))
        return datasets, page.has_more, list(page.items)

    def check_asset(self, asset: AssetRecord) -> None:
        """Raise :class:`ValueError` (naming the field) when the catalogue could not show
        ``asset``: its id, or a property it publishes (themes, places, periodicity, access
        rights, languages, standards, temporal resolution…), is not what DCAT-AP allows. A dry
        run of the dataset it makes, without its data's profile and without offers."""
        for dataset in self._builder.datasets(CatalogueItem(asset, None, ()), lambda _m: ()):
            dataset_to_dsp(dataset, context=False, offers_required=False)

    def _built(
        self, item: CatalogueItem, offers_for: Callable[[str | None], tuple[Offer, ...]]
    ) -> list[Dataset]:
        """The datasets of ``item``; none, with a warning, when it cannot be shown (stored
        before :meth:`check_asset` refused such values, or a series member its data names that
        is no identifier): one asset never takes the whole catalogue down."""
        try:
            return self._builder.datasets(item, offers_for)
        except (ValueError, TypeError) as exc:
            log.warning(
                "asset cannot be shown in the catalogue: left out",
                extra={"asset": item.asset.id, "error": str(exc)},
            )
            return []

    def page(
        self,
        claims: Mapping[str, Any],
        query: SearchQuery,
        cursor: Cursor | None,
        limit: int,
    ) -> CataloguePage:
        """One page of the catalogue ``claims`` may see, narrowed by ``query``.

        A series and its members count as one item of the page.
        """
        datasets, has_more, items = self._items(claims, store_filters(query), cursor, limit)
        following = previous = None
        if items:
            first, last = items[0].asset.id, items[-1].asset.id
            if cursor is not None and cursor.before is not None:
                # Paging backwards: what we came from follows; more before if has_more.
                following = Cursor(after=last)
                previous = Cursor(before=first) if has_more else None
            else:
                following = Cursor(after=last) if has_more else None
                previous = Cursor(before=first) if cursor is not None else None
        return CataloguePage(self._publication.catalogue(datasets), following, previous)

    def all_datasets(self, page_size: int = 500) -> list[Dataset]:
        """Every dataset of the node, with every offer (the administrators' view, for search):
        no access policy is applied, and assets no definition selects are listed without
        offers."""
        found: list[Dataset] = []
        cursor: Cursor | None = None
        while True:
            with self._database.read() as session:
                definitions, policies = self._definitions(session)
                selectors = [selector_criteria(d.assets_selector) for d in definitions]
                page = CatalogueRepository(session).page(
                    [*selectors, []],
                    CatalogueFilters(),
                    after=cursor.after if cursor else None,
                    limit=page_size,
                )
            for item in page.items:
                found.extend(self._built(item, self._offers(item, definitions, policies)))
            if not page.has_more or not page.items:
                return found
            cursor = Cursor(after=page.items[-1].asset.id)

    def offer(
        self, connection: Connection, claims: Mapping[str, Any], ref: OfferRef
    ) -> OfferedContract | None:
        """The offer ``ref`` exactly as the catalogue shows it to ``claims``, or None when it
        does not show it to them (no such contract definition, its contract policy cannot be
        read, its access policy hides it, it does not select the asset, no such series member).

        Reads in the caller's transaction (a contract request is checked against the snapshot
        it is stored in) and builds no dataset: the definition the offer id names is the only
        one that can make this offer.
        """
        offered = self._offered(connection, ref, visible_to=claims)
        return None if isinstance(offered, str) else offered

    def offer_of_administrator(
        self, connection: Connection, ref: OfferRef
    ) -> OfferedContract | str:
        """The offer ``ref`` as the catalogue would show it to a participant its access policy
        admits, or why the catalogue makes no such offer (no such contract definition or
        contract policy, that policy cannot be read, it does not select the asset, no such
        series member), for the administrator. For an administrator who makes the offer to a
        participant by name (a provider-initiated negotiation): the access policy, which
        needs the participant's claims, is not evaluated here; in ``auto`` mode both policies
        are, with the claims its acceptance brings (:class:`Decisions`)."""
        return self._offered(connection, ref, visible_to=None)

    def _offered(
        self, connection: Connection, ref: OfferRef, *, visible_to: Mapping[str, Any] | None
    ) -> OfferedContract | str:
        """:meth:`offer` (``visible_to``: the requester's claims) or
        :meth:`offer_of_administrator` (None: no access check); a string says why no offer."""
        found = self._definition_for(connection, visible_to, ref.definition_id)
        if isinstance(found, str):
            return found
        definition, contract, selector = found
        catalogue = CatalogueRepository(connection)
        statement = self._selecting_kept(
            connection.dialect.name, json.dumps(definition.assets_selector, sort_keys=True)
        )
        if not catalogue.selects(selector, ref.asset_id, statement):
            return "it does not select the dataset"
        if ref.member is not None:
            entry = catalogue.entries([ref.asset_id]).get(ref.asset_id)
            if ref.member not in series_members(entry):
                return "the dataset has no such series member"
        return OfferedContract(definition, contract, self._access.offer(ref, contract))

    def _selecting(self, backend_name: str, selector_json: str) -> Select[Any]:
        """The offer check's statement for the selector ``selector_json`` (canonical JSON), built
        from that JSON itself; kept for the last :data:`SELECTING_CACHE_SIZE` selectors (see
        ``__init__``): contract definitions are few, and a statement built anew costs SQLAlchemy
        a new cache key every time."""
        return selecting(selector_criteria(json.loads(selector_json)), backend_name)

    def _definition_for(
        self, connection: Connection, claims: Mapping[str, Any] | None, definition_id: str
    ) -> tuple[ContractDefinitionRecord, PolicyDefinitionRecord, list[Criterion]] | str:
        """A contract definition ``claims`` may see (None: an administrator's, any), its
        contract policy and its selector; or why it makes no offer."""
        try:
            definition = ContractDefinitionRepository(connection).get(definition_id)
        except StoreNotFound:
            return "no such contract definition"
        wanted = {definition.access_policy_id, definition.contract_policy_id}
        policies = PolicyDefinitionRepository(connection).get_many(sorted(wanted))
        contract = policies.get(definition.contract_policy_id)
        if contract is None:
            return f"no such contract policy {definition.contract_policy_id!r}"
        try:
            selector = selector_criteria(definition.assets_selector)
        except (InvalidQuery, KeyError, TypeError):
            return "its assets selector cannot be used"
        unreadable = self._access.unreadable(definition, contract)
        if unreadable is not None:
            return (
                f"its contract policy {contract.id!r} cannot be read by this version of the "
                f"node: {unreadable}"
            )
        if claims is not None and not self._access.visible(
            claims, [definition], policies, self._clock()
        ):
            return "its access policy does not admit the requester"
        return definition, contract, selector

    def dataset(self, claims: Mapping[str, Any], dataset_id: str) -> Dataset:
        """The dataset (or series member) ``dataset_id`` as ``claims`` may see it."""
        asset_id, member = split_member(dataset_id)
        candidates = [asset_id] if member is None else [asset_id, dataset_id]
        datasets, _more, _items = self._items(
            claims, CatalogueFilters(asset_ids=tuple(candidates)), None, len(candidates)
        )
        for dataset in datasets:
            if dataset.id == dataset_id:
                return dataset
        raise NotFound(f"dataset {dataset_id!r} not found")
