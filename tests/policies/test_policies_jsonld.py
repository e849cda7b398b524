"""Parsing any JSON-LD form of a policy, and writing the DSP and EDC forms (round trips)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft201909Validator
from policy_strategies import policies, valid_policies
from referencing import Registry, Resource
from shared_reference import DSP, require

from catalog.contexts import DSPACE_CONTEXT_URL, dsp_processor
from catalog.jsonld import JsonLdProcessor
from policies import (
    ETDS,
    ODRL,
    Constraint,
    Iri,
    Literal,
    LogicalConstraint,
    LogicalOperator,
    Permission,
    Policy,
    PolicyKind,
    PolicySyntaxError,
    Prohibition,
    dsp_context,
    edc_context,
    parse_policy,
    to_dsp,
    to_edc,
)

XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def processor() -> JsonLdProcessor:
    return dsp_processor()


def _constraint(left: str, op: str, *values: Any) -> Constraint:
    return Constraint(ODRL + left, ODRL + op, tuple(values))


def test_dsp_agreement_example_is_read_with_its_structure(processor: JsonLdProcessor) -> None:
    path = require(DSP / "examples" / "negotiation" / "contract-agreement-message-full.json")
    message = json.loads(path.read_text())
    policy = parse_policy(message["agreement"], processor=processor, context=dsp_context())
    assert policy.kind is PolicyKind.AGREEMENT
    assert policy.uid == "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44"
    assert (policy.assigner, policy.assignee) == (
        "http://example.com/Provider",
        "http://example.com/Consumer",
    )
    assert policy.profiles == ("https://test.com/profile",)
    first = policy.permissions[0]
    assert first.action == ODRL + "use"
    # "dateTime" is bare in the example: it is the ODRL term
    assert first.constraints == (_constraint("dateTime", "lteq", Literal("2023-12-31T06:00Z")),)
    last = policy.permissions[-1].constraints[0]
    assert isinstance(last, LogicalConstraint)
    assert last.operator is LogicalOperator.OR
    assert isinstance(last.constraints[0], LogicalConstraint)
    # "partner" is no ODRL term: it stays as written, for validation to refuse by name
    assert isinstance(last.constraints[1], Constraint)
    assert last.constraints[1].left_operand == "partner"


def test_a_whole_dsp_message_is_not_a_policy(processor: JsonLdProcessor) -> None:
    path = require(DSP / "examples" / "negotiation" / "contract-offer-message.json")
    with pytest.raises(PolicySyntaxError, match="@type"):
        parse_policy(json.loads(path.read_text()), processor=processor)


EXPECTED = Policy(
    kind=PolicyKind.SET,
    permissions=(
        Permission(
            ODRL + "use",
            (
                _constraint(
                    "purpose", "isA", Iri("https://w3id.org/dpv#ProvideOfficialStatistics")
                ),
                Constraint(ETDS + "aggregationThreshold", ODRL + "gteq", (Literal(3),)),
            ),
        ),
    ),
    prohibitions=(Prohibition(ETDS + "reidentify"),),
)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            {
                "@context": edc_context(),
                "@type": "odrl:Set",
                "odrl:permission": {
                    "odrl:action": {"@id": "odrl:use"},
                    "odrl:constraint": [
                        {
                            "odrl:leftOperand": {"@id": "odrl:purpose"},
                            "odrl:operator": {"@id": "odrl:isA"},
                            "odrl:rightOperand": {"@id": "dpv:ProvideOfficialStatistics"},
                        },
                        {
                            "odrl:leftOperand": {"@id": "etds:aggregationThreshold"},
                            "odrl:operator": {"@id": "odrl:gteq"},
                            "odrl:rightOperand": 3,
                        },
                    ],
                },
                "odrl:prohibition": [{"odrl:action": {"@id": "etds:reidentify"}}],
            },
            id="edc-ids",
        ),
        pytest.param(
            {
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/", "odrl": ODRL},
                "odrl:permission": {
                    "odrl:action": "use",
                    "odrl:constraint": [
                        {
                            "odrl:leftOperand": "purpose",
                            "odrl:operator": "isA",
                            "odrl:rightOperand": {
                                "@id": "https://w3id.org/dpv#ProvideOfficialStatistics"
                            },
                        },
                        {
                            "odrl:leftOperand": "etds:aggregationThreshold",
                            "odrl:operator": "odrl:gteq",
                            "odrl:rightOperand": 3,
                        },
                    ],
                },
                "odrl:prohibition": {"odrl:action": "etds:reidentify"},
            },
            id="edc-literals-no-type",
        ),
        pytest.param(
            {
                "@type": [ODRL + "Set"],
                ODRL + "permission": [
                    {
                        ODRL + "action": [{"@id": ODRL + "use"}],
                        ODRL + "constraint": [
                            {
                                ODRL + "leftOperand": [{"@id": ODRL + "purpose"}],
                                ODRL + "operator": [{"@id": ODRL + "isA"}],
                                ODRL + "rightOperand": [
                                    {"@id": "https://w3id.org/dpv#ProvideOfficialStatistics"}
                                ],
                            },
                            {
                                ODRL + "leftOperand": [{"@id": ETDS + "aggregationThreshold"}],
                                ODRL + "operator": [{"@id": ODRL + "gteq"}],
                                ODRL + "rightOperand": [{"@value": 3}],
                            },
                        ],
                    }
                ],
                ODRL + "prohibition": [{ODRL + "action": [{"@id": ETDS + "reidentify"}]}],
            },
            id="expanded",
        ),
        pytest.param(
            {
                "@context": [
                    DSPACE_CONTEXT_URL,
                    "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                ],
                "@type": "Set",
                "permission": [
                    {
                        "action": "use",
                        "constraint": [
                            {
                                "leftOperand": "purpose",
                                "operator": "isA",
                                "rightOperand": {
                                    "@id": "https://w3id.org/dpv#ProvideOfficialStatistics"
                                },
                            },
                            {
                                "leftOperand": "etds:aggregationThreshold",
                                "operator": "gteq",
                                "rightOperand": {"@value": 3},
                            },
                        ],
                    }
                ],
                "prohibition": [{"action": "etds:reidentify"}],
            },
            id="dsp-without-etds-prefix",
        ),
    ],
)
def test_every_form_reads_the_same(processor: JsonLdProcessor, document: dict[str, Any]) -> None:
    assert parse_policy(document, processor=processor) == EXPECTED


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"@context": "https://evil.example/ctx.jsonld", "@type": "odrl:Set"}, ""),
        ({"@type": ODRL + "Policy", ODRL + "inheritFrom": [{"@id": "urn:x"}]}, "odrl:inheritFrom"),
        ({"@type": ODRL + "Set", ODRL + "conflict": [{"@id": ODRL + "perm"}]}, "odrl:conflict"),
        ({"@type": "https://example.org/NotAPolicy"}, "@type"),
        (
            {"@context": edc_context(), "permission": [{"action": "use"}]},
            "https://w3id.org/edc/v0.0.1/ns/permission",
        ),
        (
            {"@type": ODRL + "Set", ODRL + "permission": [{ODRL + "target": [{"@id": "urn:a"}]}]},
            "permission[0].odrl:target",
        ),
        ({"@type": ODRL + "Set", ODRL + "permission": [{}]}, "permission[0].action"),
        (
            {
                "@type": ODRL + "Set",
                ODRL + "permission": [
                    {
                        ODRL + "action": [
                            {"@id": ODRL + "use", ODRL + "refinement": [{"@id": "urn:c"}]}
                        ]
                    }
                ],
            },
            "permission[0].action",
        ),
        (
            {
                "@type": ODRL + "Set",
                ODRL + "permission": [
                    {
                        ODRL + "action": [{"@id": ODRL + "use"}],
                        ODRL + "constraint": [{"@id": "urn:constraint-defined-elsewhere"}],
                    }
                ],
            },
            "permission[0].constraint[0]",
        ),
        (
            {
                "@type": ODRL + "Set",
                ODRL + "permission": [
                    {
                        ODRL + "action": [{"@id": ODRL + "use"}],
                        ODRL + "constraint": [
                            {
                                ODRL + "leftOperand": [{"@id": ODRL + "count"}],
                                ODRL + "operator": [{"@id": ODRL + "lt"}],
                                ODRL + "rightOperandReference": [{"@id": "urn:ref"}],
                            }
                        ],
                    }
                ],
            },
            "permission[0].constraint[0].odrl:rightOperandReference",
        ),
        (
            {
                "@type": ODRL + "Set",
                ODRL + "permission": [
                    {
                        ODRL + "action": [{"@id": ODRL + "use"}],
                        ODRL + "constraint": [
                            {
                                ODRL + "leftOperand": [{"@id": ODRL + "language"}],
                                ODRL + "operator": [{"@id": ODRL + "eq"}],
                                ODRL + "rightOperand": [{"@value": "fr", "@language": "en"}],
                            }
                        ],
                    }
                ],
            },
            "permission[0].constraint[0].rightOperand",
        ),
    ],
)
def test_unreadable_documents_are_refused_with_the_path(
    processor: JsonLdProcessor, document: dict[str, Any], path: str
) -> None:
    with pytest.raises(PolicySyntaxError) as raised:
        parse_policy(document, processor=processor)
    assert raised.value.path == path


@pytest.mark.parametrize(
    ("document", "context", "dropped"),
    [
        # A top-level offer read with the message context alone: its ODRL terms are scoped
        # under the message properties, so every one of them would vanish.
        (
            {"@type": "Offer", "@id": "urn:o:1", "permission": [{"action": "use"}]},
            [DSPACE_CONTEXT_URL],
            "permission",
        ),
        # A misspelled prohibition would make the policy allow what it forbids.
        (
            {
                "@type": "Set",
                "@id": "urn:p:1",
                "permission": [{"action": "use"}],
                "prohibitions": [{"action": "distribute"}],
            },
            None,
            "prohibitions",
        ),
        # A misspelled constraint inside a rule would remove the condition.
        (
            {
                "@type": "Set",
                "@id": "urn:p:2",
                "permission": [
                    {
                        "action": "use",
                        "constraints": [
                            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "x"}
                        ],
                    }
                ],
            },
            None,
            "constraints",
        ),
    ],
)
def test_properties_the_context_would_drop_are_refused(
    processor: JsonLdProcessor, document: dict[str, Any], context: Any, dropped: str
) -> None:
    with pytest.raises(PolicySyntaxError, match=f"does not define: {dropped}"):
        parse_policy(document, processor=processor, context=context or dsp_context())


def test_nesting_is_bounded(processor: JsonLdProcessor) -> None:
    inner: dict[str, Any] = {
        ODRL + "leftOperand": [{"@id": ODRL + "count"}],
        ODRL + "operator": [{"@id": ODRL + "lt"}],
        ODRL + "rightOperand": [{"@value": 1}],
    }
    leaf = copy.deepcopy(inner)
    for _ in range(20):
        inner = {ODRL + "and": [inner, leaf]}
    document = {
        "@type": ODRL + "Set",
        ODRL + "permission": [
            {ODRL + "action": [{"@id": ODRL + "use"}], ODRL + "constraint": [inner]}
        ],
    }
    with pytest.raises(PolicySyntaxError, match="nest deeper"):
        parse_policy(document, processor=processor)


def test_dsp_form_shape() -> None:
    policy = Policy(
        kind=PolicyKind.OFFER,
        uid="urn:uuid:o1",
        permissions=(
            Permission(
                ODRL + "use",
                (
                    _constraint("dateTime", "lteq", Literal("2026-12-31T00:00:00Z")),
                    _constraint("count", "lteq", Literal(5)),
                    Constraint(ETDS + "membership", ODRL + "eq", (Literal("active"),)),
                ),
            ),
            Permission(ODRL + "read"),
        ),
    )
    written = to_dsp(policy)
    assert written["@context"] == dsp_context()
    assert written["@type"] == "Offer"
    first, second = written["permission"]
    assert first["action"] == "use"
    assert second["action"] == "odrl:read"
    assert [c["leftOperand"] for c in first["constraint"]] == [
        "odrl:dateTime",
        "odrl:count",
        "etds:membership",
    ]
    assert first["constraint"][0]["operator"] == "lteq"
    # a bare number is not a valid DSP right operand: it is written as a value object
    assert first["constraint"][1]["rightOperand"] == {"@value": 5}
    assert "@context" not in to_dsp(policy, context=False)


@pytest.fixture(scope="module")
def offer_schema() -> Draft201909Validator:
    """The official ContractOfferMessage schema, with the schemas it refers to."""
    schemas = require(DSP / "schemas")
    resources = []
    for path in schemas.rglob("*-schema.json"):
        document = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads(
        (schemas / "negotiation" / "contract-offer-message-schema.json").read_text()
    )
    return Draft201909Validator(schema, registry=registry)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=valid_policies())
def test_dsp_offers_in_messages_meet_the_official_schema(
    offer_schema: Draft201909Validator, policy: Policy
) -> None:
    message = {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "ContractOfferMessage",
        "providerPid": "urn:uuid:p1",
        "consumerPid": "urn:uuid:c1",
        "offer": {"@type": "Offer", **to_dsp(policy, context=False), "target": "urn:uuid:d1"},
    }
    errors = sorted(offer_schema.iter_errors(message), key=str)
    assert not errors, errors[0].message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies())
def test_parse_of_to_dsp_is_the_identity(policy: Policy) -> None:
    processor = dsp_processor()
    assert parse_policy(to_dsp(policy), processor=processor) == policy
    embedded = to_dsp(policy, context=False)
    assert parse_policy(embedded, processor=processor, context=dsp_context()) == policy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies())
def test_parse_of_to_edc_is_the_identity(policy: Policy) -> None:
    processor = dsp_processor()
    assert parse_policy(to_edc(policy), processor=processor) == policy
    embedded = to_edc(policy, context=False)
    assert parse_policy(embedded, processor=processor, context=edc_context()) == policy


def test_forms_are_plain_json(tmp_path: Path) -> None:
    policy = EXPECTED
    for written in (to_dsp(policy), to_edc(policy)):
        path = tmp_path / "policy.json"
        path.write_text(json.dumps(written))
        assert json.loads(path.read_text()) == written


def test_datatypes_keep_their_iri(processor: JsonLdProcessor) -> None:
    document = {
        "@context": {**edc_context(), "xsd": XSD},
        "odrl:permission": {
            "odrl:action": {"@id": "odrl:use"},
            "odrl:constraint": {
                "odrl:leftOperand": {"@id": "odrl:elapsedTime"},
                "odrl:operator": {"@id": "odrl:lteq"},
                "odrl:rightOperand": {"@value": "P12M", "@type": "xsd:duration"},
            },
        },
    }
    constraint = parse_policy(document, processor=processor).permissions[0].constraints[0]
    assert isinstance(constraint, Constraint)
    assert constraint.right_operand == (Literal("P12M", XSD + "duration"),)


def test_embedded_dsp_form_spells_project_terms_in_full() -> None:
    """Embedded in a catalogue or message (DSP context only), etds: names would not expand."""
    path = Path(__file__).resolve().parents[2] / "examples" / "policies" / "barometer-contract.json"
    document = json.loads(path.read_text())
    policy = parse_policy(
        document["policy"], processor=dsp_processor(), context=document["@context"]
    )
    embedded = to_dsp(policy, context=False)
    assert "etds:" not in json.dumps(embedded)
    wrapped = {
        "@context": [DSPACE_CONTEXT_URL],
        "@type": "Dataset",
        "@id": "urn:x:d",
        "hasPolicy": [embedded],
    }
    expanded = json.dumps(dsp_processor().expand(wrapped))
    assert "https://w3id.org/etds/policy#aggregationThreshold" in expanded
    reparsed = parse_policy(embedded, processor=dsp_processor(), context=dsp_context())
    assert reparsed == policy
