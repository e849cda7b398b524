"""The example policies of examples/policies: every file loads and validates, and decides as its
name says for typical requesters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.contexts import dsp_processor
from policies import (
    DPV,
    AgreementFacts,
    EvaluationContext,
    Evaluator,
    Policy,
    Scope,
    parse_policy,
    to_dsp,
    validate_policy,
)
from policies.enforcement import DatasetProfile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
FILES = sorted(EXAMPLES.glob("*.json"))
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
EVALUATOR = Evaluator()
OFFICIAL = DPV + "ProvideOfficialStatistics"

REGIONAL = {"sub": "did:web:occitanie.example", "membership": "active",
            "org_type": "regional_agency", "country": "FR", "nuts": ["FRJ"]}  # fmt: skip
COMPANY = {"sub": "did:web:camping-tech.example", "membership": "active",
           "org_type": "company", "country": "FR"}  # fmt: skip
FORMER = {**COMPANY, "membership": "suspended"}


def _load(name: str) -> Policy:
    document = json.loads((EXAMPLES / name).read_text())
    return parse_policy(document["policy"], processor=dsp_processor(), context=document["@context"])


def test_there_are_access_and_contract_policies_for_each_dataset() -> None:
    names = {path.stem for path in FILES}
    for dataset in ("indicators", "barometer", "presence"):
        assert {f"{dataset}-access", f"{dataset}-contract"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_example_is_a_valid_policy_definition(path: Path) -> None:
    document = json.loads(path.read_text())
    assert document["@type"] == "PolicyDefinition"
    assert document["@id"] == path.stem
    policy = validate_policy(_load(path.name))
    # and survives the trip through the DSP form
    assert parse_policy(to_dsp(policy), processor=dsp_processor()) == policy


def _allowed(name: str, claims: dict[str, Any], scope: Scope, **fields: Any) -> bool:
    context = EvaluationContext(scope, claims, fields.pop("now", NOW), **fields)
    return EVALUATOR.evaluate(_load(name), context).allowed


def test_access_policies_decide_catalogue_visibility() -> None:
    for dataset in ("indicators", "presence"):
        assert _allowed(f"{dataset}-access.json", COMPANY, Scope.CATALOG)
        assert not _allowed(f"{dataset}-access.json", FORMER, Scope.CATALOG)
    assert _allowed("barometer-access.json", REGIONAL, Scope.CATALOG)
    assert not _allowed("barometer-access.json", COMPANY, Scope.CATALOG)


def test_barometer_contract() -> None:
    name = "barometer-contract.json"
    assert _allowed(name, REGIONAL, Scope.NEGOTIATION, purpose=OFFICIAL)
    assert not _allowed(name, REGIONAL, Scope.NEGOTIATION, purpose=DPV + "CommercialResearch")
    assert not _allowed(name, REGIONAL, Scope.NEGOTIATION)
    assert not _allowed(name, COMPANY, Scope.NEGOTIATION, purpose=OFFICIAL)
    national = {**REGIONAL, "org_type": "national_agency", "nuts": ["FR"]}
    assert _allowed(name, national, Scope.NEGOTIATION, purpose=OFFICIAL)
    without_region = {key: value for key, value in REGIONAL.items() if key != "nuts"}
    assert not _allowed(name, without_region, Scope.NEGOTIATION, purpose=OFFICIAL)
    signed = NOW - timedelta(days=200)
    agreement = AgreementFacts("urn:agreement:1", signed)
    for scope in (Scope.TRANSFER, Scope.DATAPLANE):
        assert _allowed(name, REGIONAL, scope, purpose=OFFICIAL, agreement=agreement)
        later = NOW + timedelta(days=200)
        assert not _allowed(name, REGIONAL, scope, purpose=OFFICIAL, agreement=agreement, now=later)
    decision = EVALUATOR.evaluate(
        _load(name), EvaluationContext(Scope.NEGOTIATION, REGIONAL, NOW, purpose=OFFICIAL)
    )
    assert {term.action for term in decision.contractual} == {
        "odrl:delete",
        "etds:reidentify",
        "odrl:distribute",
    }


def test_presence_and_indicator_contracts() -> None:
    assert _allowed("presence-contract.json", COMPANY, Scope.NEGOTIATION)
    assert not _allowed("presence-contract.json", FORMER, Scope.NEGOTIATION)
    assert _allowed("indicators-contract.json", COMPANY, Scope.TRANSFER)


@pytest.mark.parametrize(
    "path", sorted((EXAMPLES / "dataset-profiles").glob("*.json")), ids=lambda p: p.stem
)
def test_dataset_profiles_read_back(path: Path) -> None:
    data = json.loads(path.read_text())
    assert DatasetProfile.from_mapping(data).to_mapping() == data
