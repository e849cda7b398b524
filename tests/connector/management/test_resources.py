"""``connector.management.resources``: the ``IdResponse`` of a creation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.contexts import dsp_processor
from connector.management.resources import id_response
from connector.management.vocabulary import EDC, EDC_CONTEXT

CREATED = datetime(2026, 5, 4, 8, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "identifier",
    [
        "urn:uuid:6c4a66d5-347b-48d6-9555-49e7b6a89d9b",  # written without pyld
        "booking-barometer",  # written without pyld
        "cd-1",  # written without pyld
        EDC + "x",  # compacted to edc:x
        "http://www.w3.org/ns/dcat#Dataset",  # compacted to dcat:Dataset
        "https://agency.example/assets/1",
        "urn:etds:offer:cd:asset",
        "@nope",  # keyword-like: compaction drops it
    ],
)
def test_an_id_response_is_the_edc_compaction_of_the_created_resource(identifier: str) -> None:
    processor = dsp_processor()
    expanded = {
        "@id": identifier,
        "@type": [EDC + "IdResponse"],
        EDC + "createdAt": [{"@value": 1777883415123}],
    }
    assert id_response(processor, identifier, CREATED) == processor.compact(expanded, EDC_CONTEXT)
