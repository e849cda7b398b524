"""Crash safety of contract negotiation: 20 negotiations between two real nodes while the provider,
the consumer, or both are killed with SIGKILL at random moments and restarted on the same port
with the same database. Afterwards every negotiation is FINALIZED or TERMINATED on both sides,
none duplicated, each agreement stored exactly once on each node, and no inbound message applied
twice.

The negotiations start in five waves of four. After each wave, once a random delay has passed
(none after the first wave: the kill lands while the first requests leave), one victim is killed —
the provider twice, the consumer twice, both at once once, in a random order — kept down for a
random time, and restarted. Short retry, lease and poll times (``[negotiation]``) let the
dispatchers resend what a crash interrupted within seconds; ``max_attempts`` is high enough that
no downtime exhausts it.

Three of the requests are refused by the provider's policy (no declared purpose): their
termination races the acknowledgement of the request, the window in which a consumer once ended
TERMINATED without the providerPid (fixed in da78c32: a peer's message never moves a negotiation
out of INITIAL directly). A negotiation may exist on the consumer only if its request was never
delivered (``max_attempts`` exhausted); see :func:`_never_delivered`.

Randomness (the order of the offers, the victims, delays and downtimes) comes from one seed,
printed; ``NEGOTIATION_FAULT_SEED=<n>`` replays a run's plan (the timing of a real crash cannot be
replayed exactly).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from dataspace_support import NODE_A, NODE_B, Dataspace
from restartable import Pair, RestartableNode, start_pair
from two_nodes import API_KEY

pytestmark = pytest.mark.e2e

SEED_VARIABLE = "NEGOTIATION_FAULT_SEED"
EDC_VOCAB = "https://w3id.org/edc/v0.0.1/ns/"
NEGOTIATIONS = "/management/v3/contractnegotiations"
AGREEMENTS = "/management/v3/contractagreements"
OFFICIAL_STATISTICS = "https://w3id.org/dpv#ProvideOfficialStatistics"
FINAL = frozenset({"FINALIZED", "TERMINATED"})
DEADLINE_SECONDS = 120
WAVES, WAVE_SIZE = 5, 4
MAX_DELAY_SECONDS, MAX_DOWNTIME_SECONDS = 0.6, 1.0
MIN_FINALIZED_SHARE = 0.8
NEGOTIATION_CONFIG = """
[negotiation]
max_attempts = 60
retry_base_seconds = 0.05
retry_max_seconds = 1.0
timeout_seconds = 1.5
lease_seconds = 2.0
poll_seconds = 0.2
"""


@dataclass(frozen=True)
class Kind:
    """What a negotiation asks for, and how it must end without any crash."""

    dataset: str
    purpose: str | None
    expected: str


INDICATORS = Kind("sustainable-tourism-indicators", None, "FINALIZED")
BAROMETER = Kind("booking-barometer", OFFICIAL_STATISTICS, "FINALIZED")
BAROMETER_NO_PURPOSE = Kind("booking-barometer", None, "TERMINATED")  # its policy needs one
KINDS = [INDICATORS] * 14 + [BAROMETER] * 3 + [BAROMETER_NO_PURPOSE] * 3


@dataclass(frozen=True)
class Kill:
    """After a wave of negotiations has started: wait ``delay``, SIGKILL ``victims``, keep them
    down for ``downtime``, restart them."""

    victims: tuple[str, ...]
    delay: float
    downtime: float


def plan(rng: random.Random) -> tuple[list[Kind], list[Kill]]:
    """The order of the negotiations and one kill per wave."""
    kinds = list(KINDS)
    rng.shuffle(kinds)
    victims: list[tuple[str, ...]] = [
        ("provider",),
        ("provider",),
        ("consumer",),
        ("consumer",),
        ("provider", "consumer"),
    ]
    rng.shuffle(victims)
    kills = [
        Kill(
            victims=chosen,
            delay=0.0 if wave == 0 else round(rng.uniform(0, MAX_DELAY_SECONDS), 3),
            downtime=round(rng.uniform(0, MAX_DOWNTIME_SECONDS), 3),
        )
        for wave, chosen in enumerate(victims)
    ]
    return kinds, kills


def _seed() -> int:
    given = os.environ.get(SEED_VARIABLE)
    return int(given) if given else secrets.randbelow(2**32)


# Talking to the nodes -----------------------------------------------------------------------


def _admin(node: RestartableNode) -> httpx.Client:
    return httpx.Client(
        base_url=node.url, headers={"X-Api-Key": API_KEY}, timeout=30, trust_env=False
    )


def _query(node: RestartableNode, path: str, **filters: str) -> list[dict[str, Any]]:
    """Every record of a management query (``filters``: field = value)."""
    body: dict[str, Any] = {"@context": {"@vocab": EDC_VOCAB}, "limit": 1000}
    body["filterExpression"] = [
        {"operandLeft": field, "operator": "=", "operandRight": value}
        for field, value in filters.items()
    ]
    with _admin(node) as admin:
        response = admin.post(f"{path}/request", json=body)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    assert len(found) < 1000
    return found


def _history(node: RestartableNode, negotiation_id: str) -> list[dict[str, Any]]:
    with _admin(node) as admin:
        response = admin.get(f"{NEGOTIATIONS}/{negotiation_id}/history")
    assert response.status_code == 200, response.text
    history: list[dict[str, Any]] = response.json()
    return history


def _offers(pair: Pair) -> tuple[dict[str, dict[str, Any]], Any]:
    """The provider's first offer of each dataset as the consumer's catalogue request shows it
    (target set), and the catalogue's context."""
    with _admin(pair.consumer) as admin:
        response = admin.post(
            "/management/v3/catalog/request",
            json={
                "@context": {"@vocab": EDC_VOCAB},
                "counterPartyAddress": pair.provider.url + "/protocol/2025-1",
                "counterPartyId": NODE_B,
            },
        )
    assert response.status_code == 200, response.text
    catalogue = response.json()
    offers = {}
    for dataset in catalogue["dcat:dataset"]:
        policies = dataset["odrl:hasPolicy"]
        offer = policies[0] if isinstance(policies, list) else policies
        offers[dataset["@id"]] = {**offer, "odrl:target": {"@id": dataset["@id"]}}
    return offers, catalogue["@context"]


def _start(pair: Pair, kind: Kind, offers: dict[str, dict[str, Any]], context: Any) -> str:
    request: dict[str, Any] = {
        "@context": context,
        "@type": "ContractRequest",
        "counterPartyAddress": pair.provider.url + "/protocol/2025-1",
        "counterPartyId": NODE_B,
        "protocol": "dataspace-protocol-http:2025-1",
        "policy": offers[kind.dataset],
    }
    if kind.purpose is not None:
        request["purpose"] = {"@id": kind.purpose}
    with _admin(pair.consumer) as admin:
        response = admin.post(NEGOTIATIONS, json=request)
    assert response.status_code == 200, response.text
    return str(response.json()["@id"])


# Crashing ---------------------------------------------------------------------------------------


def _crash(pair: Pair, kill: Kill) -> None:
    """Carry out ``kill``; print what the surviving node saw at that moment."""
    time.sleep(kill.delay)
    victims = [getattr(pair, name) for name in kill.victims]
    for node in victims:
        node.kill()
    survivors = [node for node in pair.both() if node not in victims]
    seen = {n.name: dict(Counter(r["state"] for r in _query(n, NEGOTIATIONS))) for n in survivors}
    print(f"  killed {'+'.join(kill.victims)} after {kill.delay:.3f} s; states seen by {seen}")
    time.sleep(kill.downtime)
    for node in victims:
        node.spawn()
    for node in victims:
        node.wait_ready()


def _settled(pair: Pair, ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both nodes' negotiations once every one of ``ids`` (the consumer's) and every provider
    negotiation is FINALIZED or TERMINATED (fails after a generous deadline)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        consumer = _query(pair.consumer, NEGOTIATIONS)
        provider = _query(pair.provider, NEGOTIATIONS)
        states = {r["@id"]: r["state"] for r in consumer}
        if all(states.get(i) in FINAL for i in ids) and all(r["state"] in FINAL for r in provider):
            return consumer, provider
        waiting = Counter(r["state"] for r in consumer + provider if r["state"] not in FINAL)
        assert time.monotonic() < deadline, f"not settled: {dict(waiting)}"
        time.sleep(0.2)


# The invariants ---------------------------------------------------------------------------------


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _brief(record: dict[str, Any]) -> str:
    """A negotiation in one line, for failure messages."""
    fields = ("@id", "type", "state", "consumerPid", "providerPid", "contractAgreementId")
    return " ".join(f"{f}={record.get(f)}" for f in fields) + f" ({record.get('errorDetail')})"


def _never_delivered(consumer: dict[str, Any]) -> bool:
    """A consumer negotiation whose first request never got through: the dispatcher gave up
    (``max_attempts``). The provider creates a negotiation only when a request arrives, so it
    knows nothing of it — the one case where a negotiation may exist on one side only."""
    return consumer["state"] == "TERMINATED" and str(consumer.get("errorDetail", "")).startswith(
        "request could not be delivered"
    )


def _check_pairs(
    pair: Pair,
    kinds: dict[str, Kind],
    consumer: list[dict[str, Any]],
    provider: list[dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Each consumer negotiation has exactly one provider negotiation (its consumerPid) in the
    same final state, same pids, same agreement id; no provider negotiation is left over. The
    provider's negotiations by consumer id."""
    assert {r["@id"] for r in consumer} == set(kinds), "the consumer has other negotiations"
    assert len({r["consumerPid"] for r in provider}) == len(provider), "duplicated on provider"
    partners: dict[str, dict[str, Any]] = {}
    for ours in consumer:
        assert ours["state"] in FINAL, ours
        theirs = _query(pair.provider, NEGOTIATIONS, consumerPid=ours["consumerPid"])
        if not theirs:
            assert _never_delivered(ours), f"unknown to the provider: {ours}"
            continue
        assert len(theirs) == 1, f"{len(theirs)} provider negotiations for {ours['consumerPid']}"
        other = theirs[0]
        assert other["counterPartyId"] == NODE_A
        both = f"consumer: {_brief(ours)}; provider: {_brief(other)}"
        assert other["state"] == ours["state"], both
        assert other["providerPid"] == ours["providerPid"], both
        assert other.get("contractAgreementId") == ours.get("contractAgreementId"), both
        assert (ours["state"] == "FINALIZED") == ("contractAgreementId" in ours), both
        partners[ours["@id"]] = other
    assert {r["@id"] for r in provider} == {p["@id"] for p in partners.values()}, "left over"
    return partners


def _check_outcomes(kinds: dict[str, Kind], consumer: list[dict[str, Any]]) -> None:
    """A refused request is TERMINATED for its reason; most of the others are FINALIZED (a crash
    is no reason to give up while retries can deliver)."""
    finalized, expected = 0, 0
    for ours in consumer:
        kind = kinds[ours["@id"]]
        if kind.expected == "TERMINATED":
            assert ours["state"] == "TERMINATED", ours
            assert "purpose" in ours["errorDetail"], ours
            continue
        expected += 1
        finalized += ours["state"] == "FINALIZED"
        if ours["state"] != "FINALIZED":
            print(f"  not finalized: {ours['@id']} {ours['state']}: {ours.get('errorDetail')}")
    print(f"FINALIZED {finalized} of {expected} agreeable; {len(consumer) - expected} refused")
    assert finalized >= MIN_FINALIZED_SHARE * expected


def _check_agreements(
    pair: Pair, consumer: list[dict[str, Any]], partners: dict[str, dict[str, Any]]
) -> None:
    """Each node stores exactly one agreement per FINALIZED negotiation, made by it, and no
    other; both nodes store the same agreement."""
    finalized = [r for r in consumer if r["state"] == "FINALIZED"]
    sides = (
        (pair.consumer, {r["contractAgreementId"]: r for r in finalized}),
        (pair.provider, {r["contractAgreementId"]: partners[r["@id"]] for r in finalized}),
    )
    stored: dict[str, list[dict[str, Any]]] = {}
    for node, negotiations in sides:
        agreements = _query(node, AGREEMENTS)
        ids = [a["@id"] for a in agreements]
        assert len(ids) == len(set(ids)) == len(negotiations), f"{node.name}: {sorted(ids)}"
        assert set(ids) == set(negotiations), f"{node.name}: agreements without negotiation"
        for agreement in agreements:
            negotiation = negotiations[agreement["@id"]]
            assert agreement["negotiationId"] == negotiation["@id"]
            assert agreement["assetId"] == negotiation["assetId"]
            assert (agreement["providerId"], agreement["consumerId"]) == (NODE_B, NODE_A)
        stored[node.name] = sorted(agreements, key=lambda a: str(a["@id"]))
    for mine, theirs in zip(stored["consumer"], stored["provider"], strict=True):
        for field in ("@id", "assetId", "purpose", "contractSigningDate"):
            assert mine.get(field) == theirs.get(field), (mine, theirs)
        for term in ("@id", "odrl:assigner", "odrl:assignee", "odrl:target", "dspace:timestamp"):
            assert mine["policy"].get(term) == theirs["policy"].get(term), (mine, theirs)


IN_MESSAGES = {
    ("consumer", "FINALIZED"): ["ContractAgreementMessage", "ContractNegotiationEventMessage"],
    ("provider", "FINALIZED"): ["ContractRequestMessage", "ContractAgreementVerificationMessage"],
    ("consumer", "TERMINATED"): ["ContractNegotiationTerminationMessage"],
    ("provider", "TERMINATED"): ["ContractRequestMessage"],
}


def _check_histories(
    pair: Pair,
    kinds: dict[str, Kind],
    consumer: list[dict[str, Any]],
    partners: dict[str, dict[str, Any]],
) -> Counter[str]:
    """Each side's history is complete and the mirror of the other's. A node records a message
    it receives only when it applies it (a repeat is acknowledged without a trace), so its
    inbound history is exactly the protocol's sequence for the outcome. It records a message it
    sent once, when it learns the message arrived: from the peer's answer, or from the peer's
    next message when it died before recording the answer (a resend after a crash is the same
    message and is not recorded again). So what one side recorded as sent is exactly what the
    other recorded as received. Counts the messages checked."""
    seen: Counter[str] = Counter()
    for ours in consumer:
        other = partners.get(ours["@id"])
        if other is None:
            continue
        histories = {
            "consumer": _history(pair.consumer, ours["@id"]),
            "provider": _history(pair.provider, other["@id"]),
        }
        for role, history in histories.items():
            inbound = [m for m in history if m["direction"] == "in"]
            kinds_in = [m["type"] for m in inbound]
            keys = [(m["type"], _canonical(m["body"])) for m in inbound]
            assert len(keys) == len(set(keys)), f"{role} applied a message twice: {kinds_in}"
            if ours["state"] == kinds[ours["@id"]].expected:
                assert kinds_in == IN_MESSAGES[role, ours["state"]], (role, ours, kinds_in)
            outbound = [
                (m["type"], _canonical(m["body"])) for m in history if m["direction"] == "out"
            ]
            assert len(outbound) == len(set(outbound)), f"{role} recorded a message twice"
        for sender, receiver in (("consumer", "provider"), ("provider", "consumer")):
            out = {
                (m["type"], _canonical(m["body"]))
                for m in histories[sender]
                if m["direction"] == "out"
            }
            received = {
                (m["type"], _canonical(m["body"]))
                for m in histories[receiver]
                if m["direction"] == "in"
            }
            assert out == received, (
                f"{sender} sent {sorted(t for t, _ in out)}, "
                f"{receiver} received {sorted(t for t, _ in received)}"
            )
            seen["messages"] += len(out)
    return seen


# The test -----------------------------------------------------------------------------------------


def test_negotiations_survive_kills_of_either_node(dataspace: Dataspace, tmp_path: Path) -> None:
    seed = _seed()
    print(f"\n{SEED_VARIABLE}={seed}")
    kinds_in_order, kills = plan(random.Random(seed))
    with start_pair(dataspace, tmp_path, extra_config=NEGOTIATION_CONFIG) as pair:
        offers, context = _offers(pair)
        kinds: dict[str, Kind] = {}
        for wave, kill in enumerate(kills):
            batch = kinds_in_order[wave * WAVE_SIZE : (wave + 1) * WAVE_SIZE]
            for kind in batch:
                kinds[_start(pair, kind, offers, context)] = kind
            print(f"wave {wave}: started {len(batch)}")
            _crash(pair, kill)
        assert len(kinds) == WAVES * WAVE_SIZE
        consumer, provider = _settled(pair, list(kinds))
        assert pair.consumer.alive, "the consumer died by itself"
        assert pair.provider.alive, "the provider died by itself"
        partners = _check_pairs(pair, kinds, consumer, provider)
        _check_outcomes(kinds, consumer)
        _check_agreements(pair, consumer, partners)
        seen = _check_histories(pair, kinds, consumer, partners)
        lives = {node.name: node.incarnations for node in pair.both()}
        print(f"messages: {dict(seen)}; processes: {lives}")
