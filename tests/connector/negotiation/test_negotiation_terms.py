"""Reading stored offers and agreements (``Terms.parse``): parsed once per distinct JSON."""

from __future__ import annotations

import pytest
from negotiation_support import OPEN, RESEARCH_ONLY, agreement_body, node, offer_body

import connector.negotiation.terms as terms_module
from connector.store.database import Database
from policies import PolicyKind, dsp_context, parse_policy


def test_a_stored_offer_reads_as_its_policy_and_is_parsed_once(database: Database) -> None:
    terms = node(database).terms
    stored = offer_body(RESEARCH_ONLY, uid="urn:uuid:offer-1")
    first = terms.parse(stored)
    assert first == parse_policy(stored, processor=node(database).processor, context=dsp_context())
    assert first.kind is PolicyKind.OFFER
    # The same JSON again (another dict, keys in another order): the policy read before.
    again = terms.parse(dict(reversed(list(stored.items()))))
    assert again is first


def test_different_documents_are_not_confused(database: Database) -> None:
    terms = node(database).terms
    research = terms.parse(offer_body(RESEARCH_ONLY, uid="urn:uuid:offer-1"))
    other_uid = terms.parse(offer_body(RESEARCH_ONLY, uid="urn:uuid:offer-2"))
    open_offer = terms.parse(offer_body(OPEN, uid="urn:uuid:offer-1"))
    agreement = terms.parse(agreement_body(RESEARCH_ONLY))
    assert research.uid == "urn:uuid:offer-1"
    assert other_uid.uid == "urn:uuid:offer-2"
    assert open_offer.permissions != research.permissions
    assert agreement.kind is PolicyKind.AGREEMENT


def test_the_parsed_policies_kept_are_bounded(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(terms_module, "PARSED_CACHE_SIZE", 2)
    terms = node(database).terms
    first = terms.parse(offer_body(uid="urn:uuid:a"))
    second = terms.parse(offer_body(uid="urn:uuid:b"))
    assert terms.parse(offer_body(uid="urn:uuid:a")) is first  # used again: kept
    terms.parse(offer_body(uid="urn:uuid:c"))  # evicts b, the least recently used
    assert terms.parse(offer_body(uid="urn:uuid:a")) is first
    again = terms.parse(offer_body(uid="urn:uuid:b"))  # parsed anew
    assert again == second
    assert again is not second


def test_long_documents_are_parsed_each_time(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    terms = node(database).terms
    stored = offer_body(RESEARCH_ONLY, uid="urn:uuid:offer-1")
    monkeypatch.setattr(terms_module, "PARSED_CACHE_MAX_CHARS", 10)
    first = terms.parse(stored)
    again = terms.parse(stored)
    assert again == first
    assert again is not first
