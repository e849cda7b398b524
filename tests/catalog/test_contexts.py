"""The project's DSP 2025-1 contexts expand every official example like the official ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shared_reference import DSP, require

from catalog.contexts import (
    DSPACE_CONTEXT_URL,
    ODRL_PROFILE_URL,
    dsp_processor,
)
from catalog.jsonld import JsonLdProcessor


def _official() -> JsonLdProcessor:
    context = require(DSP / "context")
    return JsonLdProcessor(
        {
            DSPACE_CONTEXT_URL: json.loads((context / "context.jsonld").read_text()),
            ODRL_PROFILE_URL: json.loads((context / "odrl-profile.jsonld").read_text()),
        }
    )


def _examples() -> list[Path]:
    if not (DSP / "examples").exists():
        return []
    # DSP messages only (DID documents also need the DID context, which the node does not use).
    return sorted(
        path
        for path in (DSP / "examples").rglob("*.json")
        if json.loads(path.read_text()).get("@context") == [DSPACE_CONTEXT_URL]
    )


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@pytest.mark.parametrize("example", _examples(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_expands_identically(example: Path) -> None:
    document = _load(example)
    assert dsp_processor().expand(document) == _official().expand(document)


def test_there_are_examples_of_every_kind() -> None:
    require(DSP / "examples")
    kinds = {path.parent.name for path in _examples()}
    assert {"catalog", "negotiation", "transfer"} <= kinds
    assert len(_examples()) >= 20


@pytest.mark.parametrize("example", _examples(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_compacts_back_to_the_same_graph(example: Path) -> None:
    processor = dsp_processor()
    expanded = processor.expand(_load(example))
    compacted = processor.compact(expanded, [DSPACE_CONTEXT_URL])
    assert processor.expand(compacted) == expanded


def test_agreement_survives_processing_other_messages_first() -> None:
    """pyld reused a processed @import across message types and lost `agreement` (known trap)."""
    require(DSP / "examples")
    processor = dsp_processor()
    negotiation = sorted((DSP / "examples" / "negotiation").glob("*.json"))
    agreement = _load(DSP / "examples" / "negotiation" / "contract-agreement-message.json")
    for path in negotiation:
        processor.expand(_load(path))
    expanded = processor.expand(agreement)
    assert "https://w3id.org/dspace/2025/1/agreement" in expanded[0]
    assert expanded == _official().expand(agreement)


def test_one_processor_expands_every_message_as_a_new_one_would_in_any_order() -> None:
    """Type-scoped contexts are processed once per processor (and thread) and then reused."""
    require(DSP / "examples")
    documents = [_load(path) for path in _examples()]
    expected = [dsp_processor().expand(document) for document in documents]
    for order in (documents, documents[::-1], documents[1::2] + documents[::2]):
        processor = dsp_processor()
        for _ in range(2):
            for document in order:
                assert processor.expand(document) == expected[documents.index(document)]


def test_context_declares_every_state_and_message_type() -> None:
    context = dsp_processor().compact(
        {
            "@type": ["https://w3id.org/dspace/2025/1/TransferProcess"],
            "https://w3id.org/dspace/2025/1/state": [
                {"@id": "https://w3id.org/dspace/2025/1/STARTED"}
            ],
        },
        [DSPACE_CONTEXT_URL],
    )
    assert context["@type"] == "TransferProcess"
    assert context["state"] == "STARTED"
