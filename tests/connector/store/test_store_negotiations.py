"""NegotiationRepository contract: pids, idempotent lookups, optimistic saves, history, claims,
queries by the names and states the management API shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from store_records import CONSUMER, EDC, PROVIDER, agreement, at, negotiation

from connector.negotiation import states
from connector.negotiation.intent import display_state
from connector.store.database import Database
from connector.store.errors import (
    AlreadyExists,
    InvalidQuery,
    InvalidRecord,
    NotFound,
    StaleRecord,
)
from connector.store.models import ContractNegotiation
from connector.store.query import Criterion, QuerySpec
from connector.store.records import NegotiationRecord
from connector.store.repositories._process import ROLES, ProcessLease, _statements
from connector.store.repositories.agreements import AgreementRepository
from connector.store.repositories.negotiations import PENDING_NAMES, NegotiationRepository


def test_create_get_and_defaults(database: Database) -> None:
    record = negotiation("n", offer={"@id": "offer-1"}, offered_by="provider")
    with database.transaction() as session:
        created = NegotiationRepository(session).create(record)
    assert created == replace(record, version=1)
    with database.read() as session:
        stored = NegotiationRepository(session).get("n")
    assert stored == created
    assert (stored.pending, stored.attempts, stored.next_attempt_at) == (False, 0, None)


def test_find_by_pid_uses_our_own_pid_for_each_role(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.create(negotiation("p", role="provider", provider_pid="P1", consumer_pid="C1"))
        repository.create(
            negotiation("c", role="consumer", counterparty_id=PROVIDER,
                        provider_pid="P1", consumer_pid="C1")
        )  # fmt: skip
    with database.read() as session:
        repository = NegotiationRepository(session)
        assert repository.find_by_pid("provider", "P1") == repository.get("p")
        assert repository.find_by_pid("consumer", "C1") == repository.get("c")
        assert repository.find_by_pid("provider", "C1") is None
        assert repository.find_by_pid("provider", "P1", counterparty_id=CONSUMER) is not None
        assert repository.find_by_pid("provider", "P1", counterparty_id=PROVIDER) is None
        found = repository.find_by_consumer_pid_for_counterparty("provider", CONSUMER, "C1")
        assert found is not None
        assert found.id == "p"
        assert repository.find_by_consumer_pid_for_counterparty("provider", PROVIDER, "C1") is None


def test_find_own_looks_up_our_pid_in_the_roles_given(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.create(negotiation("p", role="provider", provider_pid="P1", consumer_pid="C1"))
        repository.create(
            negotiation("c", role="consumer", counterparty_id=PROVIDER,
                        provider_pid="P2", consumer_pid="C2")
        )  # fmt: skip
    with database.read() as session:
        repository = NegotiationRepository(session)
        provider_side = repository.find_own("P1", CONSUMER)
        consumer_side = repository.find_own("C2", PROVIDER)
        assert provider_side is not None
        assert provider_side.id == "p"
        assert consumer_side is not None
        assert consumer_side.id == "c"
        assert repository.find_own("P1", CONSUMER, roles=("consumer",)) is None
        assert repository.find_own("C2", PROVIDER, roles=("provider",)) is None
        assert repository.find_own("C1", CONSUMER) is None  # their pid, not ours
        assert repository.find_own("P2", PROVIDER) is None
        assert repository.find_own("P1", PROVIDER) is None  # someone else's negotiation
        assert repository.find_own("P1", CONSUMER, roles=()) is None


def test_pid_uniqueness(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.create(negotiation("n1", provider_pid="P1", consumer_pid="C1"))
        with pytest.raises(AlreadyExists, match="providerPid 'P1'"):
            repository.create(negotiation("n2", provider_pid="P1", consumer_pid="C2"))
        with pytest.raises(AlreadyExists, match=f"consumerPid of '{CONSUMER}'"):
            repository.create(negotiation("n3", provider_pid="P3", consumer_pid="C1"))
        with pytest.raises(AlreadyExists, match="id 'n1'"):
            repository.create(negotiation("n1", provider_pid="P9", consumer_pid="C9"))
        # Another consumer may reuse the same consumerPid: theirs are scoped by counterparty.
        repository.create(
            negotiation("n4", provider_pid="P4", consumer_pid="C1", counterparty_id="did:web:b")
        )
        # As consumer, two providers may hand out the same providerPid.
        for n, provider in enumerate(("did:web:p1", "did:web:p2")):
            repository.create(
                negotiation(f"c{n}", role="consumer", counterparty_id=provider,
                            consumer_pid=f"OURS{n}", provider_pid="SAME")
            )  # fmt: skip
    with database.read() as session:
        assert NegotiationRepository(session).count(QuerySpec()) == 4


def test_save_writes_mutable_fields_and_bumps_the_version(database: Database) -> None:
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("ag"))
        created = NegotiationRepository(session).create(negotiation("n"))
    changed = replace(
        created,
        state="AGREED",
        agreement_id="ag",
        pending=True,
        next_attempt_at=at(10),
        attempts=2,
        error_detail="timeout",
        updated_at=at(5),
        # Fixed at creation, ignored by save:
        counterparty_id="did:web:impostor",
        created_at=at(99),
    )
    with database.transaction() as session:
        saved = NegotiationRepository(session).save(changed, expected_version=1)
    assert saved == replace(
        changed, counterparty_id=created.counterparty_id, created_at=created.created_at, version=2
    )


def test_save_conflicts(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        created = repository.create(negotiation("n"))
        repository.create(negotiation("other", provider_pid="TAKEN", consumer_pid="X"))
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.save(replace(created, state="OFFERED"), expected_version=1)
        with pytest.raises(StaleRecord, match="version 1"):
            repository.save(replace(created, state="TERMINATED"), expected_version=1)
        with pytest.raises(NotFound):
            repository.save(replace(created, id="ghost"), expected_version=1)
        with pytest.raises(NotFound, match="contract agreement 'nope'"):
            repository.save(replace(created, agreement_id="nope"), expected_version=2)
        with pytest.raises(AlreadyExists, match="providerPid 'TAKEN'"):
            repository.save(replace(created, provider_pid="TAKEN"), expected_version=2)
        assert repository.get("n").state == "OFFERED"


def test_a_negotiation_and_its_agreement_are_written_without_savepoints(
    database: Database,
) -> None:
    """On PostgreSQL a SAVEPOINT costs two more round trips per write: creating a negotiation,
    its agreement and saving its agreement id take none, and a taken id or pid is still
    explained in a transaction that stays usable."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split(maxsplit=1)[0].upper())

    with database.transaction() as session:
        event.listen(session, "before_cursor_execute", record)
        repository = NegotiationRepository(session)
        created = repository.create(negotiation("n", provider_pid="P1", consumer_pid="C1"))
        AgreementRepository(session).create(agreement("a-1", negotiation_id="n"))
        repository.save(replace(created, state="FINALIZED", agreement_id="a-1"), 1)
        with pytest.raises(AlreadyExists, match="providerPid 'P1'"):
            repository.create(negotiation("n2", provider_pid="P1", consumer_pid="C2"))
        with pytest.raises(AlreadyExists, match="'a-1'"):
            AgreementRepository(session).create(agreement("a-1"))
        with pytest.raises(NotFound, match="contract agreement 'nope'"):
            repository.create(negotiation("n3", consumer_pid="C3", agreement_id="nope"))
        assert repository.get("n").agreement_id == "a-1"  # still usable
        event.remove(session, "before_cursor_execute", record)
    assert "SAVEPOINT" not in statements
    with database.read() as session:
        assert NegotiationRepository(session).count(QuerySpec()) == 1


def test_a_taken_pid_is_told_before_a_missing_reference(database: Database) -> None:
    # SQLite explains after the failed write, PostgreSQL checks references before writing: both
    # tell a taken id or pid first.
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.create(negotiation("n", consumer_pid="C1"))
        with pytest.raises(AlreadyExists, match=f"consumerPid of '{CONSUMER}'"):
            repository.create(negotiation("n2", consumer_pid="C1", agreement_id="nope"))
        with pytest.raises(AlreadyExists, match="id 'n'"):
            repository.create(negotiation("n", consumer_pid="C9", agreement_id="nope"))
        with pytest.raises(NotFound, match="contract agreement 'nope'"):
            repository.create(negotiation("n3", consumer_pid="C3", agreement_id="nope"))
        assert repository.get("n").consumer_pid == "C1"


def test_a_stale_save_is_stale_before_its_references_are_checked(database: Database) -> None:
    with database.transaction() as session:
        created = NegotiationRepository(session).create(negotiation("n"))
        NegotiationRepository(session).save(replace(created, state="OFFERED"), 1)
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.assume(created)  # read at version 1: it has moved on
        with pytest.raises(StaleRecord, match="version 1"):
            repository.save(replace(created, agreement_id="nope"), 1)
        repository.assume(replace(created, id="ghost"))
        with pytest.raises(NotFound, match="'ghost'"):
            repository.save(replace(created, id="ghost", agreement_id="nope"), 1)
        assert repository.get("n").state == "OFFERED"


def test_invalid_values_are_refused(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        with pytest.raises(InvalidRecord, match="role"):
            repository.create(negotiation("n", role="broker"))
        with pytest.raises(InvalidRecord, match="offered_by"):
            repository.create(negotiation("n", offered_by="someone"))
        with pytest.raises(InvalidRecord, match="mode must be auto or manual"):
            repository.create(negotiation("n", mode="bogus"))
        with pytest.raises(InvalidRecord, match="pending must be true or false"):
            repository.create(negotiation("n", pending="yes"))
        with pytest.raises(NotFound, match="contract definition 'cd'"):
            repository.create(negotiation("n", contract_definition_id="cd"))


def test_message_history_is_kept_in_order(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.create(negotiation("n"))
        repository.create(negotiation("m", provider_pid="P-m", consumer_pid="C-m"))
        first = repository.append_message("n", "in", "ContractRequestMessage", {"a": 1}, at(2))
        repository.append_message("m", "out", "ContractOfferMessage", {}, at(1))
        second = repository.append_message("n", "out", "ContractAgreementMessage", {"b": 2}, at(1))
    with database.read() as session:
        history = NegotiationRepository(session).messages("n")
    assert history == [first, second]
    assert (history[0].direction, history[0].body, history[0].at) == ("in", {"a": 1}, at(2))
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        with pytest.raises(NotFound):
            repository.append_message("ghost", "in", "X", {}, at(0))
        with pytest.raises(InvalidRecord, match="direction"):
            repository.append_message("n", "sideways", "X", {}, at(0))
        assert repository.messages("ghost") == []


def test_query_by_state_and_pending(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        for n, (state, pending) in enumerate(
            [("REQUESTED", True), ("AGREED", False), ("REQUESTED", False)]
        ):
            repository.create(negotiation(f"n{n}", state=state, pending=pending, created_at=at(n)))
    with database.read() as session:
        repository = NegotiationRepository(session)
        requested = QuerySpec(filters=(Criterion("state", "=", "REQUESTED"),))
        assert [r.id for r in repository.query(requested)] == ["n0", "n2"]
        waiting = QuerySpec(filters=(Criterion("pending", "=", "true"),))
        assert [r.id for r in repository.query(waiting)] == ["n0"]
        no_agreement = QuerySpec(filters=(Criterion("agreementId", "!=", "x"),))
        assert repository.count(no_agreement) == 3
        with pytest.raises(InvalidQuery, match="unknown contract negotiation field"):
            repository.query(QuerySpec(filters=(Criterion("offer", "=", "x"),)))


# (id, role, stored state, intent, pending) → the state the management API shows.
SHOWN = [
    ("n-requesting", "consumer", "INITIAL", "REQUEST", True, "REQUESTING"),
    ("n-agreeing", "provider", "REQUESTED", "AGREE", True, "AGREEING"),
    ("n-requested", "provider", "REQUESTED", None, False, "REQUESTED"),
    ("n-offered", "consumer", "OFFERED", "ACCEPT", False, "OFFERED"),
    ("n-terminating", "consumer", "OFFERED", "TERMINATE", True, "TERMINATING"),
    ("n-finalized", "provider", "FINALIZED", None, False, "FINALIZED"),
]


def _shown_states(database: Database) -> None:
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("ag-1"))
        repository = NegotiationRepository(session)
        for n, (id, role, state, intent, pending, _) in enumerate(SHOWN):
            repository.create(
                negotiation(id, role=role, state=state, intent=intent, pending=pending,
                            counterparty_id=PROVIDER if role == "consumer" else CONSUMER,
                            agreement_id="ag-1" if state == "FINALIZED" else None,
                            created_at=at(n))
            )  # fmt: skip


def _ids(database: Database, *filters: Criterion, **spec: Any) -> list[str]:
    with database.read() as session:
        found = NegotiationRepository(session).query(QuerySpec(filters=filters, **spec))
    return [record.id for record in found]


def test_the_store_knows_the_shown_names_of_every_intent() -> None:
    assert {k.value: v for k, v in states.PENDING_NAMES.items()} == PENDING_NAMES


@pytest.mark.parametrize("shown", sorted({row[-1] for row in SHOWN} | {"INITIAL", "ACCEPTING"}))
def test_state_filters_compare_the_state_responses_show(database: Database, shown: str) -> None:
    _shown_states(database)
    matching = sorted(id for id, *_, state in SHOWN if state == shown)
    others = sorted(id for id, *_, state in SHOWN if state != shown)
    with database.read() as session:
        records = {r.id: r for r in NegotiationRepository(session).query(QuerySpec())}
    assert all(display_state(records[id]) == state for id, *_, state in SHOWN)
    assert sorted(_ids(database, Criterion("state", "=", shown))) == matching
    assert sorted(_ids(database, Criterion("state", "!=", shown))) == others
    assert sorted(_ids(database, Criterion("state", "in", [shown, "FINALIZED"]))) == sorted(
        {*matching, "n-finalized"}
    )
    assert sorted(_ids(database, Criterion("state", "not in", [shown]))) == others


def test_state_patterns_and_sorting_use_the_shown_state(database: Database) -> None:
    _shown_states(database)
    pending = _ids(database, Criterion("state", "like", "%ING"))
    assert sorted(pending) == ["n-agreeing", "n-requesting", "n-terminating"]
    by_state = _ids(database, sort_field="state")
    assert by_state == [id for id, *_, state in sorted(SHOWN, key=lambda row: row[-1])]


def test_the_names_of_responses_are_query_fields(database: Database) -> None:
    _shown_states(database)
    consumers = sorted(id for id, role, *_ in SHOWN if role == "consumer")
    assert sorted(_ids(database, Criterion("type", "=", "CONSUMER"))) == consumers
    assert sorted(_ids(database, Criterion(EDC + "type", "in", ["CONSUMER"]))) == consumers
    assert _ids(database, Criterion("type", "=", "consumer")) == []  # responses say CONSUMER
    assert sorted(_ids(database, Criterion("counterPartyId", "=", PROVIDER))) == consumers
    address = Criterion("counterPartyAddress", "like", "https://consumer.%")
    assert len(_ids(database, address)) == len(SHOWN)
    for name in ("contractAgreementId", "contractAgreement.id", "agreementId"):
        assert _ids(database, Criterion(name, "=", "ag-1")) == ["n-finalized"], name
    assert _ids(database, sort_field="type", limit=1) == ["n-offered"]


def test_claim_due_leases_only_due_pending_unleased_rows(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.create(negotiation("due-late", pending=True, next_attempt_at=at(5)))
        repository.create(
            negotiation(
                "due-early",
                provider_pid="P2",
                consumer_pid="C2",
                pending=True,
                next_attempt_at=at(1),
            )
        )
        repository.create(
            negotiation(
                "future", provider_pid="P3", consumer_pid="C3", pending=True, next_attempt_at=at(60)
            )
        )
        repository.create(
            negotiation(
                "idle", provider_pid="P4", consumer_pid="C4", pending=False, next_attempt_at=at(0)
            )
        )
    with database.transaction() as session:
        claimed = NegotiationRepository(session).claim_due(at(10), 10, "worker-a", 30)
    assert [r.id for r in claimed] == ["due-early", "due-late"]
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        assert repository.claim_due(at(20), 10, "worker-b", 30) == []
        # The lease of worker-a ran out at 40 s: someone else may take the work over.
        assert [r.id for r in repository.claim_due(at(41), 1, "worker-b", 30)] == ["due-early"]


def test_claim_due_can_leave_out_counterparties_and_hand_leases_back(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        for index, counterparty in enumerate(("urn:a", "urn:b", "urn:a", "urn:c")):
            repository.create(
                negotiation(
                    f"n{index}",
                    counterparty_id=counterparty,
                    provider_pid=f"P{index}",
                    consumer_pid=f"C{index}",
                    pending=True,
                    next_attempt_at=at(index),
                )
            )
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        claimed = repository.claim_due(
            at(10), 10, "worker-a", 30, skip_counterparties=["urn:a", "urn:c"]
        )
        assert [r.id for r in claimed] == ["n1"]
        claimed = repository.claim_due(at(10), 10, "worker-a", 30, skip_counterparties=[])
        assert [r.id for r in claimed] == ["n0", "n2", "n3"]
        repository.release([r for r in claimed if r.counterparty_id == "urn:a"], "worker-a")
        repository.release([], "worker-a")  # nothing to hand back
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        # Only worker-a's leases are handed back by worker-a.
        repository.release(claimed, "worker-b")
        assert [r.id for r in repository.claim_due(at(11), 10, "worker-b", 30)] == ["n0", "n2"]


def test_save_clears_the_lease(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.create(negotiation("n", pending=True, next_attempt_at=at(0)))
        (claimed,) = repository.claim_due(at(1), 5, "worker-a", 300)
        assert claimed.version == 1  # claiming does not change the record's version
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.save(replace(claimed, attempts=1, next_attempt_at=at(2)), expected_version=1)
        assert [r.id for r in repository.claim_due(at(3), 5, "worker-b", 300)] == ["n"]


def test_may_have_sent_tells_a_queued_message_from_one_that_may_have_left(
    database: Database,
) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        queued = repository.create(negotiation("n", pending=True, next_attempt_at=at(0)))
        assert repository.may_have_sent(queued) is False  # it only waits in the queue
        assert repository.may_have_sent(replace(queued, attempts=1)) is True  # one went out
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        (claimed,) = repository.claim_due(at(1), 5, "worker-a", 300)
    with database.transaction() as session:
        assert NegotiationRepository(session).may_have_sent(queued) is True  # on its way
    with database.transaction() as session:
        # The dispatcher records the answer (the save clears the lease): a reader still holding
        # the version it read before is told so (its save at that version would be stale).
        NegotiationRepository(session).save(replace(claimed, pending=False), expected_version=1)
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        assert repository.may_have_sent(queued) is True
        assert repository.may_have_sent(repository.get("n")) is False


def test_claim_due_refuses_nonsense(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        with pytest.raises(InvalidQuery):
            repository.claim_due(at(0), 0, "w", 10)
        with pytest.raises(ValueError, match="lease_seconds"):
            repository.claim_due(at(0), 1, "w", 0)
        with pytest.raises(InvalidRecord, match="now"):
            repository.claim_due(at(0).replace(tzinfo=None), 1, "w", 10)


@contextmanager
def _statements_sent(session: Any) -> Iterator[list[str]]:
    """The statements ``session`` sends meanwhile (SQL text, whitespace folded)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(session, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(session, "before_cursor_execute", record)


def _message(**overrides: Any) -> dict[str, Any]:
    return {
        "direction": "out",
        "message_type": "ContractRequestMessage",
        "body": {"@type": "ContractRequestMessage"},
        "at": at(3),
        **overrides,
    }


def _history(database: Database, negotiation_id: str) -> list[str]:
    with database.read() as session:
        messages = NegotiationRepository(session).messages(negotiation_id)
    return [message.message_type for message in messages]


def test_save_recording_saves_and_records_in_one_statement_on_postgresql(
    database: Database,
) -> None:
    with database.transaction() as session:
        created = NegotiationRepository(session).create(negotiation("n"))
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.assume(created)
        with _statements_sent(session) as sent:
            saved = repository.save_recording(replace(created, state="REQUESTED"), 1, **_message())
    assert (saved.state, saved.version) == ("REQUESTED", 2)
    if database.backend == "postgresql":
        assert len(sent) == 1
        assert sent[0].startswith("WITH saved AS (UPDATE contract_negotiations")
    else:
        assert [statement.split()[0] for statement in sent] == ["UPDATE", "INSERT"]
    with database.read() as session:
        assert NegotiationRepository(session).get("n") == saved
    assert _history(database, "n") == ["ContractRequestMessage"]


def test_save_recording_at_once_is_the_whole_work_in_statements(database: Database) -> None:
    """In ``statements()`` on PostgreSQL: one statement, committed by itself. Where it cannot
    be one statement (SQLite, a row not known at that version): None, nothing written."""
    with database.transaction() as session:
        created = NegotiationRepository(session).create(negotiation("n"))
    requested = replace(created, state="REQUESTED", provider_pid="P-new")
    with database.statements() as session:
        repository = NegotiationRepository(session)
        unknown = repository.save_recording_at_once(requested, 1, **_message())
        repository.assume(created)
        with _statements_sent(session) as sent:
            saved = repository.save_recording_at_once(requested, 1, **_message())
    assert unknown is None
    if database.backend == "sqlite":
        assert (saved, sent) == (None, [])
        assert _history(database, "n") == []
        return
    assert saved is not None
    assert (saved.state, saved.provider_pid, saved.version) == ("REQUESTED", "P-new", 2)
    assert len(sent) == 1
    with database.read() as session:
        assert NegotiationRepository(session).get("n") == saved
    assert _history(database, "n") == ["ContractRequestMessage"]


def test_save_recording_records_nothing_when_stale_or_missing(database: Database) -> None:
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        created = repository.create(negotiation("n"))
        repository.save(replace(created, state="OFFERED"), 1)
    for unit in (database.transaction, database.statements):
        with unit() as session:
            repository = NegotiationRepository(session)
            at_once = unit == database.statements and database.backend == "postgresql"
            saving = repository.save_recording_at_once if at_once else repository.save_recording
            repository.assume(created)  # at version 1: it has moved on
            with pytest.raises(StaleRecord, match="version 1"):
                saving(replace(created, state="TERMINATED"), 1, **_message())
            ghost = replace(created, id="ghost")
            repository.assume(ghost)
            with pytest.raises(NotFound, match="'ghost'"):
                saving(replace(ghost, state="TERMINATED"), 1, **_message())
    with database.read() as session:
        assert NegotiationRepository(session).get("n").state == "OFFERED"
    assert _history(database, "n") == []


def _at_once(database: Database, known: NegotiationRecord, record: NegotiationRecord) -> None:
    with database.statements() as session:
        repository = NegotiationRepository(session)
        repository.assume(known)
        repository.save_recording_at_once(record, known.version, **_message())


def test_a_pid_taken_by_save_recording(database: Database) -> None:
    """In a transaction, the save of a unique value goes through save(), which says what was
    taken (in a SAVEPOINT on PostgreSQL: the transaction stays usable); at once in
    statements() on PostgreSQL, the error is the database's, and nothing is written."""
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        created = repository.create(negotiation("n"))
        repository.create(negotiation("other", provider_pid="TAKEN", consumer_pid="X"))
    taking = replace(created, state="REQUESTED", provider_pid="TAKEN")
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.assume(created)
        with pytest.raises(AlreadyExists, match="providerPid 'TAKEN'"):
            repository.save_recording(taking, 1, **_message())
        assert repository.get("n").state == created.state  # still usable
    if database.backend == "postgresql":
        with pytest.raises(IntegrityError):
            _at_once(database, created, taking)
    with database.read() as session:
        assert NegotiationRepository(session).get("n") == created
    assert _history(database, "n") == []


def test_an_agreement_stored_in_the_transaction_needs_no_hold(database: Database) -> None:
    """``held``: the agreement this transaction stored is not held again before the save that
    refers to it (a round trip on PostgreSQL); a reference not held is, and a missing one is
    NotFound, as save() says."""

    def holds(sent: list[str]) -> list[str]:
        return [statement for statement in sent if statement.endswith("FOR KEY SHARE")]

    with database.transaction() as session:
        repository = NegotiationRepository(session)
        first = repository.create(negotiation("n1"))
        second = repository.create(negotiation("n2", provider_pid="P2", consumer_pid="C2"))
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        AgreementRepository(session).create(agreement("a-1", negotiation_id="n1"))
        AgreementRepository(session).create(agreement("a-2", negotiation_id="n2"))
        repository.assume(first)
        repository.assume(second)
        with _statements_sent(session) as held_sent:
            finalized = replace(first, state="FINALIZED", agreement_id="a-1")
            repository.save_recording(finalized, 1, held=("agreement_id",), **_message())
        with _statements_sent(session) as not_held_sent:
            repository.save(replace(second, state="FINALIZED", agreement_id="a-2"), 1)
        with pytest.raises(NotFound, match="contract agreement 'nope'"):
            repository.save_recording(replace(second, agreement_id="nope"), 2, **_message())
    assert holds(held_sent) == []
    if database.backend == "postgresql":
        assert len(held_sent) == 1  # the save and the message, nothing else
        assert len(holds(not_held_sent)) == 1
    with database.read() as session:
        repository = NegotiationRepository(session)
        assert [repository.get(n).agreement_id for n in ("n1", "n2")] == ["a-1", "a-2"]
    assert _history(database, "n1") == ["ContractRequestMessage"]
    assert _history(database, "n2") == []


def test_save_recording_leases_as_save_does(database: Database) -> None:
    with database.transaction() as session:
        created = NegotiationRepository(session).create(negotiation("n"))
    due = replace(created, pending=True, intent="REQUEST", next_attempt_at=at(1))
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        repository.assume(created)
        lease = ProcessLease("worker-a", at(100))
        repository.save_recording(due, 1, lease=lease, **_message())
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        assert repository.claim_due(at(2), 5, "worker-b", 30) == []  # leased to worker-a
        assert [r.id for r in repository.claim_due(at(101), 5, "worker-b", 30)] == ["n"]


def test_a_create_holds_what_it_refers_to_in_its_own_statement(database: Database) -> None:
    """On PostgreSQL the insert itself holds the records it refers to (FOR KEY SHARE, in a CTE
    each): one statement; a missing one inserts nothing and is explained after."""
    with database.transaction() as session:
        AgreementRepository(session).create(agreement("ag"))
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        with _statements_sent(session) as sent:
            repository.create(negotiation("n", agreement_id="ag"))
        with pytest.raises(NotFound, match="contract agreement 'nope'"):
            repository.create(negotiation("m", consumer_pid="C-m", agreement_id="nope"))
        assert repository.get("n").agreement_id == "ag"  # still usable
    assert len(sent) == 1
    if database.backend == "postgresql":
        assert sent[0].startswith("WITH held_agreement_id AS (SELECT")
    with database.read() as session:
        assert NegotiationRepository(session).count(QuerySpec()) == 1


def test_save_recording_in_statements_is_one_statement_or_refused(database: Database) -> None:
    """Outside a transaction (PostgreSQL's ``statements()``), a save and its message that cannot
    be one statement (here: a row not known at that version) are refused before anything is
    written: two statements there would commit one by one."""
    with database.transaction() as session:
        created = NegotiationRepository(session).create(negotiation("n"))
    requested = replace(created, state="REQUESTED")
    if database.backend == "postgresql":
        with pytest.raises(RuntimeError, match="save_recording_at_once"):
            _recorded_unknown(database, requested)
        expected = created
    else:  # statements() is a transaction there
        _recorded_unknown(database, requested)
        expected = replace(requested, version=2)
    with database.read() as session:
        assert NegotiationRepository(session).get("n") == expected
    assert len(_history(database, "n")) == (0 if database.backend == "postgresql" else 1)


def _recorded_unknown(database: Database, record: NegotiationRecord) -> None:
    with database.statements() as session:
        NegotiationRepository(session).save_recording(record, 1, **_message())


def test_lookups_by_pid_read_one_row_whatever_the_plan(database: Database) -> None:
    """PostgreSQL keeps a generic plan per prepared statement, made without statistics while a
    new node's table has none: a lookup by pid must still find its row through the key, not
    read every negotiation with the same counterparty (migration 0006)."""
    if database.backend != "postgresql":
        pytest.skip("PostgreSQL's generic plans")
    with database.transaction() as session:
        repository = NegotiationRepository(session)
        for n in range(200):
            repository.create(negotiation(f"n{n}"))
    statements = _statements(ContractNegotiation.__table__)  # type: ignore[arg-type]
    cases = [
        (statements.own[frozenset(ROLES)], {"pid": "urn:uuid:n7-p", "counterparty": CONSUMER}),
        (
            statements.by_consumer_pid,
            {"role": "provider", "counterparty": CONSUMER, "consumer_pid": "urn:uuid:n7-c"},
        ),
    ]
    with database.transaction() as session:
        session.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        # A table this small is read whole anyway; a large one is read through an index.
        session.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for number, (prepared, values) in enumerate(cases):
            compiled = prepared.statement.compile(dialect=session.dialect)
            names: list[str] = []

            def numbered(match: re.Match[str], names: list[str] = names) -> str:
                names.append(match.group(1))
                return f"${len(names)}"

            sql = re.sub(r"%\((\w+)\)s", numbered, str(compiled))
            session.exec_driver_sql(f"PREPARE lookup{number} AS {sql}")
            given = {**compiled.params, **values}
            arguments = ", ".join(f"'{given[name]}'" for name in names)
            plan = session.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE lookup{number}({arguments})"
            ).scalar_one()
            nodes = list(_plan_nodes(plan[0]["Plan"]))
            assert sum(node.get("Rows Removed by Filter", 0) for node in nodes) == 0, nodes
            assert plan[0]["Plan"]["Actual Rows"] == 1


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)
