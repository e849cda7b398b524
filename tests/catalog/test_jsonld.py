"""The offline JSON-LD processor: never fetches, keeps relative ids, fresh cache per operation."""

from __future__ import annotations

import pytest

from catalog.jsonld import JsonLdProcessingError, JsonLdProcessor, UnknownContext

EX = "https://example.org/vocab#"
CTX_URL = "https://contexts.example/one.jsonld"


def test_registered_context_is_used_without_network() -> None:
    processor = JsonLdProcessor({CTX_URL: {"@context": {"name": EX + "name"}}})
    expanded = processor.expand({"@context": CTX_URL, "@id": "urn:x:1", "name": "a"})
    assert expanded == [{"@id": "urn:x:1", EX + "name": [{"@value": "a"}]}]


@pytest.mark.parametrize(
    "url",
    [
        "https://w3id.org/dspace/2025/1/context.jsonld",
        "http://127.0.0.1:1/ctx",
        "file:///etc/passwd",
    ],
)
def test_unknown_remote_context_is_refused(url: str) -> None:
    processor = JsonLdProcessor({})
    with pytest.raises(UnknownContext) as caught:
        processor.expand({"@context": url, "a": 1})
    assert caught.value.url == url


def test_relative_ids_stay_relative() -> None:
    processor = JsonLdProcessor({})
    expanded = processor.expand({"@id": "asset-1", "name": "x"}, expand_context={"@vocab": EX})
    assert expanded[0]["@id"] == "asset-1"
    compacted = processor.compact(expanded, {"@vocab": EX})
    assert compacted["@id"] == "asset-1"


def test_expand_context_applies_before_document_context() -> None:
    processor = JsonLdProcessor({})
    document = {"@context": {"name": "https://other.example/name"}, "name": "a", "kind": "b"}
    expanded = processor.expand(document, expand_context={"@vocab": EX})
    assert expanded == [
        {"https://other.example/name": [{"@value": "a"}], EX + "kind": [{"@value": "b"}]}
    ]


def test_invalid_json_ld_is_a_processing_error() -> None:
    processor = JsonLdProcessor({})
    with pytest.raises(JsonLdProcessingError):
        processor.expand({"@context": {"@vocab": 5}, "a": 1})


def test_strict_expansion_names_the_properties_it_would_drop() -> None:
    processor = JsonLdProcessor({CTX_URL: {"@context": {"name": EX + "name", "ignored": None}}})
    document = {
        "@context": CTX_URL,
        "name": {"@id": "urn:x:2", "nmae": "typo", "ignored": 1},
        "extra": 1,
        "ignored": "on purpose",
    }
    lenient = processor.expand(document)
    assert lenient == [{EX + "name": [{"@id": "urn:x:2"}]}]  # JSON-LD drops them silently
    with pytest.raises(JsonLdProcessingError, match=r"does not define: extra, nmae$"):
        processor.expand(document, strict=True)
    clean = {"@context": CTX_URL, "name": "a", "ignored": 2}  # null-mapped: not reported
    assert processor.expand(clean, strict=True) == [{EX + "name": [{"@value": "a"}]}]


def test_context_documents_cannot_be_mutated_by_callers() -> None:
    document = {"@context": {"name": EX + "name"}}
    processor = JsonLdProcessor({CTX_URL: document})
    document["@context"]["name"] = "https://evil.example/name"
    expanded = processor.expand({"@context": CTX_URL, "name": "a"})
    assert EX + "name" in expanded[0]


def test_imported_context_survives_repeated_processing() -> None:
    """An @import-ed context keeps its terms across operations (fresh resolver cache each time)."""
    base = "https://contexts.example/base.jsonld"
    profile = "https://contexts.example/profile.jsonld"
    processor = JsonLdProcessor(
        {
            profile: {"@context": {"agreement": {"@id": EX + "agreement", "@type": "@id"}}},
            base: {
                "@context": {
                    "@version": 1.1,
                    "Message": {"@id": EX + "Message", "@context": {"@import": profile}},
                    "Other": {"@id": EX + "Other", "@context": {"@import": profile}},
                }
            },
        }
    )
    for _ in range(3):
        other = processor.expand({"@context": base, "@type": "Other", "agreement": "urn:a:0"})
        assert other[0][EX + "agreement"] == [{"@id": "urn:a:0"}]
        message = processor.expand({"@context": base, "@type": "Message", "agreement": "urn:a:1"})
        assert message[0][EX + "agreement"] == [{"@id": "urn:a:1"}]
