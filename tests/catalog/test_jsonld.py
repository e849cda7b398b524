"""The offline JSON-LD processor: never fetches, keeps relative ids, fresh cache per operation."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pyld import jsonld

from catalog.contexts import dsp_processor
from catalog.jsonld import (
    ACTIVE_CONTEXT_CACHE_SIZE,
    MAX_CACHED_CONTEXT_CHARS,
    MAX_CACHED_IRI_CHARS,
    JsonLdProcessingError,
    JsonLdProcessor,
    UnknownContext,
)

EX = "https://example.org/vocab#"
DCT = "http://purl.org/dc/terms/"
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


# The cached active context (a document's top-level context processed once per processor) must
# give exactly what pyld's general path gives; the general path is forced by caching nothing.

DSP_URL = "https://w3id.org/dspace/2025/1/context.jsonld"
ODRL_URL = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
OFFER: dict[str, Any] = {
    "@type": "Offer",
    "@id": "urn:etds:offer:1",
    "target": "dataset-1",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "https://w3id.org/etds/policy#membership",
                    "operator": "eq",
                    "rightOperand": "active",
                }
            ],
        }
    ],
    "prohibition": [{"action": "https://w3id.org/etds/policy#reidentify"}],
}
DSP_DOCUMENTS: list[dict[str, Any]] = [
    {
        "@context": [DSP_URL],
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:c1",
        "offer": OFFER,
        "callbackAddress": "https://consumer.example/protocol/2025-1",
    },
    {
        "@context": [DSP_URL],
        "@type": "ContractAgreementMessage",
        "providerPid": "urn:uuid:p1",
        "consumerPid": "urn:uuid:c1",
        "agreement": {
            **OFFER,
            "@type": "Agreement",
            "@id": "urn:uuid:a1",
            "assigner": "urn:etds:participant:b",
            "assignee": "urn:etds:participant:a",
            "timestamp": "2026-01-01T00:00:00Z",
        },
    },
    {
        "@context": DSP_URL,
        "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:uuid:p1",
        "consumerPid": "urn:uuid:c1",
        "eventType": "FINALIZED",
    },
    {
        "@context": [DSP_URL],
        "@type": "ContractNegotiationTerminationMessage",
        "providerPid": "urn:uuid:p1",
        "consumerPid": "urn:uuid:c1",
        "code": "1",
        "reason": [{"@value": "no", "@language": "en"}],
    },
    {"@context": [DSP_URL, ODRL_URL], **OFFER, "@type": "Set"},
    {"@context": [DSP_URL], "@graph": [{"@type": "CatalogRequestMessage"}]},
]


def _reference(document: Any, expand_context: Any = None) -> Any:
    """What pyld's general path gives (nothing cached)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("catalog.jsonld.MAX_CACHED_CONTEXT_CHARS", 0)
        return dsp_processor().expand(document, expand_context=expand_context)


def test_dsp_messages_expand_as_without_the_cache() -> None:
    processor = dsp_processor()
    expected = [_reference(document) for document in DSP_DOCUMENTS]
    for _ in range(3):  # interleaved message types, each context already cached
        assert [processor.expand(document) for document in DSP_DOCUMENTS] == expected
    assert expected[0][0]["https://w3id.org/dspace/2025/1/consumerPid"]  # really expanded


def test_expand_context_and_inline_contexts_expand_as_without_the_cache() -> None:
    processor = dsp_processor()
    documents = [
        ({"@id": "asset-1", "name": "x", "dct:title": "t"}, {"@vocab": EX, "dct": DCT}),
        ({"@context": {"name": "https://other.example/name"}, "name": "a"}, {"@vocab": EX}),
        ({"@context": [{"@vocab": EX}, {"kind": {"@type": "@id"}}], "kind": "k"}, None),
        ({"@context": None, EX + "name": "n", "other": "dropped"}, {"@vocab": EX}),
    ]
    for document, expand_context in documents * 2:
        assert processor.expand(document, expand_context=expand_context) == _reference(
            document, expand_context
        )


def test_a_context_that_does_not_propagate_expands_as_without_the_cache() -> None:
    document = {
        "@context": {"@version": 1.1, "@propagate": False, "@vocab": EX},
        "name": "top",
        "child": {"name": "nested"},
    }
    processor = dsp_processor()
    for _ in range(2):
        assert processor.expand(document) == _reference(document)


def _type_scoped_processing(patch: pytest.MonkeyPatch) -> list[Any]:
    """Record every type-scoped context pyld processes (``propagate`` false)."""
    seen: list[Any] = []
    real = jsonld.JsonLdProcessor._process_context

    def process(
        self: Any, active_ctx: Any, local_ctx: Any, options: Any, *args: Any, **kw: Any
    ) -> Any:
        propagate = kw.get("propagate", args[1] if len(args) > 1 else True)
        if not propagate:
            seen.append(local_ctx)
        return real(self, active_ctx, local_ctx, options, *args, **kw)

    patch.setattr(jsonld.JsonLdProcessor, "_process_context", process)
    return seen


def test_type_scoped_contexts_are_processed_once_per_processor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processor = dsp_processor()
    seen = _type_scoped_processing(monkeypatch)
    first = [processor.expand(document) for document in DSP_DOCUMENTS]
    assert seen  # the DSP context is type-scoped: each message type brings its terms
    seen.clear()
    for _ in range(3):
        assert [processor.expand(document) for document in DSP_DOCUMENTS] == first
    assert seen == []
    # Another processor keeps its own.
    assert dsp_processor().expand(DSP_DOCUMENTS[0]) == first[0]
    assert seen


def test_the_cache_of_type_scoped_contexts_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("catalog.jsonld.SCOPED_CONTEXT_CACHE_SIZE", 2)
    processor = dsp_processor()
    seen = _type_scoped_processing(monkeypatch)
    for _ in range(2):
        assert [processor.expand(document) for document in DSP_DOCUMENTS] == [
            _reference(document) for document in DSP_DOCUMENTS
        ]
    assert len(processor._scoped._entries) == 2
    assert len(seen) > 2 * len(DSP_DOCUMENTS)  # evicted ones were processed again


def test_documents_with_nested_contexts_keep_nothing_in_the_scoped_cache() -> None:
    processor = dsp_processor()
    document = {
        **DSP_DOCUMENTS[0],
        "offer": {**OFFER, "@context": {"note": EX + "note"}, "note": "kept"},
    }
    for _ in range(2):
        assert processor.expand(document) == _reference(document)
    assert processor._scoped._entries == {}  # request data is never kept


def test_strict_expansion_names_a_dropped_property_in_a_nested_type_scoped_node() -> None:
    processor = dsp_processor()
    document = {**DSP_DOCUMENTS[0], "offer": {**OFFER, "notAnOdrlTerm": 1}}
    processor.expand(document)  # lenient: dropped silently; the scoped contexts are cached
    with pytest.raises(JsonLdProcessingError, match="notAnOdrlTerm"):
        processor.expand(document, strict=True)


def test_strict_expansion_names_dropped_properties_on_the_cached_path() -> None:
    processor = dsp_processor()
    document = {**DSP_DOCUMENTS[2], "notADspTerm": 1}
    processor.expand(document)  # lenient: dropped silently, and the context is now cached
    with pytest.raises(JsonLdProcessingError, match="notADspTerm"):
        processor.expand(document, strict=True)


def test_unknown_context_is_refused_when_another_is_cached() -> None:
    processor = dsp_processor()
    processor.expand(DSP_DOCUMENTS[2])
    with pytest.raises(UnknownContext):
        processor.expand({"@context": [DSP_URL, "https://evil.example/ctx"], "a": 1})


def test_the_cache_of_active_contexts_is_bounded() -> None:
    processor = JsonLdProcessor({})
    for index in range(ACTIVE_CONTEXT_CACHE_SIZE + 10):
        context = {"@vocab": f"https://example.org/{index}#"}
        assert processor.expand({"@context": context, "a": 1}) == [
            {f"https://example.org/{index}#a": [{"@value": 1}]}
        ]
    assert len(processor._active) == ACTIVE_CONTEXT_CACHE_SIZE


def test_concurrent_expansions_share_the_cached_context() -> None:
    processor = dsp_processor()
    expected = [_reference(document) for document in DSP_DOCUMENTS]

    def expand_all(_: int) -> list[Any]:
        return [processor.expand(document) for document in DSP_DOCUMENTS]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(expand_all, range(32)))
    assert all(result == expected for result in results)


def test_contexts_imported_by_several_types_do_not_leak_terms_between_them() -> None:
    """pyld merges an @import-ed context into its cached copy of the first importer's context
    and hands that to the next: a processor whose contexts @import keeps no resolver between
    documents, so type B never learns type A's terms."""
    ex = "https://example.org/"
    shared = {"@context": {"s": ex + "shared"}}
    types = {
        name: {
            "@id": ex + name,
            "@context": {"@version": 1.1, "@import": ex + "shared", term: ex + term},
        }
        for name, term in (("A", "a"), ("B", "b"))
    }
    processor = JsonLdProcessor(
        {ex + "main": {"@context": {"@version": 1.1, **types}}, ex + "shared": shared}
    )
    context = [ex + "main"]
    first = processor.expand({"@context": context, "@type": "A", "a": "1", "s": "2"})
    assert set(first[0]) == {"@type", ex + "a", ex + "shared"}
    second = processor.expand({"@context": context, "@type": "B", "a": "3", "b": "1", "s": "2"})
    assert set(second[0]) == {"@type", ex + "b", ex + "shared"}  # no "a" in B


def test_a_documents_own_context_that_imports_keeps_no_resolver() -> None:
    """The same trap through a peer's inline context: its type-scoped contexts @import a bundled
    one (the DSP processor has the ODRL profile). Each type still sees only its own terms."""
    ex = "https://example.org/"
    profile = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
    context = {
        "@version": 1.1,
        **{
            name: {
                "@id": ex + name,
                "@context": {"@version": 1.1, "@import": profile, term: ex + term},
            }
            for name, term in (("A", "a"), ("B", "b"))
        },
    }
    processor = dsp_processor()
    assert profile in processor.context_urls
    for kind, term in (("A", "a"), ("B", "b")):
        expanded = processor.expand({"@context": context, "@type": kind, "a": "1", "b": "1"})
        assert [key for key in expanded[0] if key.startswith(ex)] == [ex + term]


# Compaction keeps each compaction context processed (and so its inverse context) per processor.

EDC_VOCAB = "https://w3id.org/edc/v0.0.1/ns/"
COMPACTIONS: list[tuple[dict[str, Any], Any]] = [
    (
        {"@id": "urn:uuid:x", "@type": [EDC_VOCAB + "IdResponse"],
         EDC_VOCAB + "createdAt": [{"@value": 1796617042947}]},
        {"@vocab": EDC_VOCAB, "edc": EDC_VOCAB, "odrl": "http://www.w3.org/ns/odrl/2/"},
    ),
    ({"@context": [DSP_URL], **DSP_DOCUMENTS[0]}, DSP_URL),
    (DSP_DOCUMENTS[1], [DSP_URL]),
    ({"@id": "asset-1", "name": "x", "dct:title": "t", "@context": {"@vocab": EX, "dct": DCT}},
     {"@vocab": EX, "dct": DCT}),
]  # fmt: skip


def _compacted_without_the_cache(document: Any, context: Any) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("catalog.jsonld.MAX_CACHED_CONTEXT_CHARS", 0)
        return dsp_processor().compact(document, context)


def test_compaction_gives_what_it_gives_without_the_cache() -> None:
    processor = dsp_processor()
    expected = [_compacted_without_the_cache(d, c) for d, c in COMPACTIONS]
    for _ in range(3):
        assert [processor.compact(d, c) for d, c in COMPACTIONS] == expected
    assert expected[0] == {
        "@context": COMPACTIONS[0][1],
        "@id": "urn:uuid:x",
        "@type": "IdResponse",
        "createdAt": 1796617042947,
    }
    assert expected[1]["@context"] == DSP_URL
    assert expected[1]["consumerPid"] == "urn:uuid:c1"


def test_a_compaction_context_is_processed_once_per_processor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processor = dsp_processor()
    processed: list[Any] = []
    real = jsonld.JsonLdProcessor.process_context

    def process_context(self: Any, active_ctx: Any, local_ctx: Any, options: Any) -> Any:
        processed.append(local_ctx)
        return real(self, active_ctx, local_ctx, options)

    monkeypatch.setattr(jsonld.JsonLdProcessor, "process_context", process_context)
    document, context = COMPACTIONS[0]
    first = processor.compact(document, context)
    compaction_contexts = [c for c in processed if c == context]
    assert len(compaction_contexts) == 1
    for _ in range(3):
        assert processor.compact(document, context) == first
    assert [c for c in processed if c == context] == compaction_contexts
    with pytest.raises(UnknownContext):
        processor.compact(document, [context, "https://evil.example/ctx"])


def test_the_cache_of_compaction_contexts_is_bounded() -> None:
    processor = JsonLdProcessor({})
    document = {"@id": "urn:x:1", "https://example.org/a": 1}
    for index in range(ACTIVE_CONTEXT_CACHE_SIZE + 10):
        context = {f"t{index}": "https://example.org/a"}
        assert processor.compact(document, context) == {
            "@context": context,
            "@id": "urn:x:1",
            f"t{index}": 1,
        }
    assert len(processor._compacting) == ACTIVE_CONTEXT_CACHE_SIZE


def test_a_request_s_own_context_is_not_kept_with_the_type_scoped_ones() -> None:
    processor = dsp_processor()
    own = {"@version": 1.1, "T": {"@id": EX + "T", "@context": {"q": EX + "q"}}}
    document = {"@context": own, "@type": "T", "q": 1}
    for _ in range(2):
        assert processor.expand(document) == _reference(document)
    assert processor._scoped._entries == {}  # only bundled contexts' type-scoped ones are kept
    processor.expand(DSP_DOCUMENTS[0])
    assert processor._scoped._entries


def test_a_type_scoped_empty_context_is_not_kept() -> None:
    # pyld gives a plain (mutable) dict for it, not a frozen context: it is processed each time.
    url = "https://contexts.example/scoped.jsonld"
    context = {"@context": {"@version": 1.1, "T": {"@id": EX + "T", "@context": []},
                            "q": EX + "q"}}  # fmt: skip
    processor = JsonLdProcessor({url: context})
    document = {"@context": url, "@type": "T", "q": 1}
    expected = [{"@type": [EX + "T"], EX + "q": [{"@value": 1}]}]
    for _ in range(2):
        assert processor.expand(document) == expected
    assert all(type(result) is not dict for _, _, result in processor._scoped._entries.values())


@pytest.mark.parametrize(
    ("document", "expand_context", "message"),
    [
        ({"@context": None, EX + "a": 1}, DSP_URL, "nullify a context with protected terms"),
        ({"@context": {"@context": {"ex": EX}}, "ex:a": 1}, None, "cannot be overridden"),
    ],
)
def test_top_level_contexts_the_general_path_refuses_are_refused(
    document: dict[str, Any], expand_context: Any, message: str
) -> None:
    processor = dsp_processor()
    for _ in range(2):
        with pytest.raises(JsonLdProcessingError, match=message):
            processor.expand(document, expand_context=expand_context)


def test_compaction_with_importing_contexts_does_not_depend_on_what_came_before() -> None:
    ex = "https://example.org/"
    types = {
        name: {
            "@id": ex + name,
            "@context": {"@version": 1.1, "@import": ex + "shared", term: ex + term},
        }
        for name, term in (("A", "a"), ("B", "b"))
    }
    contexts = {
        ex + "main": {"@context": {"@version": 1.1, **types}},
        ex + "shared": {"@context": {"s": ex + "shared"}},
    }
    a_node = {"@type": [ex + "A"], ex + "a": "1"}
    b_node = {"@type": [ex + "B"], ex + "a": "1", ex + "b": "2"}
    fresh = JsonLdProcessor(contexts).compact(b_node, ex + "main")
    used = JsonLdProcessor(contexts)
    used.compact(a_node, ex + "main")
    assert used.compact(b_node, ex + "main") == fresh
    assert fresh == jsonld.compact(b_node, ex + "main", JsonLdProcessor(contexts)._options())


def test_a_long_inline_context_is_processed_each_time_not_kept() -> None:
    processor = dsp_processor()
    own = {f"t{index}": f"{EX}{index}" for index in range(500)}  # 20 KB of JSON
    assert len(json.dumps(own)) > MAX_CACHED_CONTEXT_CHARS
    document = {"@context": own, "t1": 1}
    for _ in range(2):
        assert processor.expand(document) == [{EX + "1": [{"@value": 1}]}]
    assert len(processor._active) == 0
    processor.expand(DSP_DOCUMENTS[0])
    assert len(processor._active) == 1


def _iri_expansions(patch: pytest.MonkeyPatch) -> list[Any]:
    """Record the values pyld's own ``_expand_iri`` expands."""
    seen: list[Any] = []
    real = jsonld.JsonLdProcessor._expand_iri

    def expand_iri(self: Any, active_ctx: Any, value: Any, *args: Any, **kw: Any) -> Any:
        seen.append(value)
        return real(self, active_ctx, value, *args, **kw)

    patch.setattr(jsonld.JsonLdProcessor, "_expand_iri", expand_iri)
    return seen


def test_terms_and_iris_expanded_under_bundled_contexts_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = [_reference(document) for document in DSP_DOCUMENTS]
    processor = dsp_processor()
    seen = _iri_expansions(monkeypatch)
    assert [processor.expand(document) for document in DSP_DOCUMENTS] == expected
    assert "consumerPid" in seen
    seen.clear()
    for _ in range(2):  # interleaved types: a term kept under one type's context is not reused
        assert [processor.expand(document) for document in DSP_DOCUMENTS] == expected
    assert [value for value in seen if isinstance(value, str)] == []
    assert "consumerPid" in {key[1] for key in processor._scoped.iris._entries}


def test_the_cache_of_expanded_iris_is_bounded_and_skips_long_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("catalog.jsonld.EXPANDED_IRI_CACHE_SIZE", 5)
    processor = dsp_processor()
    long_pid = "urn:uuid:" + "7" * (MAX_CACHED_IRI_CHARS + 1)
    documents = [*DSP_DOCUMENTS, {**DSP_DOCUMENTS[2], "consumerPid": long_pid}]
    for _ in range(2):
        assert [processor.expand(document) for document in documents] == [
            _reference(document) for document in documents
        ]
    kept = processor._scoped.iris._entries
    assert len(kept) == 5
    assert all(len(key[1]) <= MAX_CACHED_IRI_CHARS for key in kept)


def test_iris_are_kept_only_under_contexts_the_processor_keeps() -> None:
    """Not under a request's own contexts, nor under compaction contexts (which may be a
    request's): an entry keeps its context alive."""
    processor = dsp_processor()
    nested = {
        **DSP_DOCUMENTS[0],
        "offer": {**OFFER, "@context": {"note": EX + "note"}, "note": "kept"},
    }
    own = {"@context": {"@vocab": EX}, "name": "n", "kind": "k"}
    for document in (nested, own):
        assert processor.expand(document) == _reference(document)
    assert processor._scoped.iris._entries == {}
    for document, context in COMPACTIONS:
        processor.compact(document, context)
    processor.expand(DSP_DOCUMENTS[0])
    kept = {id(context) for context in processor._active._entries.values()}
    kept |= {id(entry[2]) for entry in processor._scoped._entries.values()}
    contexts = [entry[0] for entry in processor._scoped.iris._entries.values()]
    assert contexts
    assert all(id(context) in kept for context in contexts)


MANAGEMENT_CONTEXT = {
    "@vocab": "https://w3id.org/edc/v0.0.1/ns/",
    "odrl": ODRL_URL.rsplit("/", 1)[0],
}


def _management_request(context: Any) -> dict[str, Any]:
    """A request with a context of its own (as EDC's management API clients send)."""
    return {
        "@context": context,
        "@type": "ContractRequest",
        "counterPartyAddress": "https://b.example/protocol",
        "policy": {"@id": "urn:offer:1", "@type": "odrl:Offer", "odrl:target": {"@id": "a-1"}},
    }


def test_terms_and_iris_expanded_under_a_request_s_own_context_are_kept_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = _management_request({"@vocab": EX, "odrl": "http://www.w3.org/ns/odrl/2/"})
    expected = _reference(document)
    processor = dsp_processor()
    seen = _iri_expansions(monkeypatch)
    assert processor.expand(document) == expected
    assert "counterPartyAddress" in seen
    seen.clear()
    assert processor.expand(document) == expected
    assert [value for value in seen if isinstance(value, str)] == []
    assert processor._scoped.iris._entries == {}  # not with the bundled contexts' ones
    ((active, iris),) = processor._top_iris._entries.values()
    assert any(context is active for context in processor._active._entries.values())
    assert all(entry[0] is active for entry in iris._entries.values())


def test_only_the_request_s_top_level_context_keeps_iris_and_as_many_as_are_kept() -> None:
    processor = dsp_processor()
    scoped = {"@version": 1.1, "T": {"@id": EX + "T", "@context": {"q": EX + "q"}}}
    document = {"@context": scoped, "@type": "T", "q": 1, "r": {"@type": "T", "q": 2}}
    for _ in range(2):
        assert processor.expand(document) == _reference(document)
    ((active, iris),) = processor._top_iris._entries.values()
    assert iris._entries
    assert all(entry[0] is active for entry in iris._entries.values())  # not T's context
    for index in range(ACTIVE_CONTEXT_CACHE_SIZE + 3):
        own = {"@vocab": f"{EX}{index}/"}
        assert processor.expand(_management_request(own)) == _reference(_management_request(own))
    assert len(processor._top_iris) == ACTIVE_CONTEXT_CACHE_SIZE


def test_long_expansions_are_not_kept() -> None:
    """A request's context may map a short term to a long IRI: what is kept stays bounded by
    the results' length too."""
    long_prefix = EX + "x" * 600 + "/"
    document = {"@context": {"p": long_prefix, "s": EX + "s"}, "p:a": 1, "s": 2}
    processor = dsp_processor()
    for _ in range(2):
        assert processor.expand(document) == _reference(document)
    ((_active, iris),) = processor._top_iris._entries.values()
    kept = {key[1]: entry[1] for key, entry in iris._entries.items()}
    assert "s" in kept
    assert "p:a" not in kept
    assert all(result is None or len(result) <= 512 for result in kept.values())
