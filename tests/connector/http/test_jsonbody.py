"""JSON bodies: syntax, emptiness and complexity limits give clear 400s, never a crash."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import BadRequest, RequestTooComplex
from connector.http.fetch import Answer, FetchError
from connector.http.jsonbody import (
    check_complexity,
    holds_unstorable_text,
    may_hold_unstorable_text,
    parse_json,
)
from connector.http.problem import problem_response


def test_valid_document_is_returned() -> None:
    assert parse_json(b'{"a": [1, 2]}', max_depth=8, max_nodes=100) == {"a": [1, 2]}


def test_empty_body_is_an_error_unless_allowed() -> None:
    with pytest.raises(BadRequest, match="empty"):
        parse_json(b"  ", max_depth=8, max_nodes=100)
    assert parse_json(b"", max_depth=8, max_nodes=100, allow_empty=True) is None


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b"{'a': 1}", b"NaN-ish"])
def test_syntax_errors_are_bad_requests(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_json(raw, max_depth=8, max_nodes=100)


def test_depth_limit() -> None:
    nested = json.dumps(json.loads("[" * 9 + "]" * 9)).encode()
    with pytest.raises(RequestTooComplex, match="deeper than 8"):
        parse_json(nested, max_depth=8, max_nodes=1000)
    parse_json(json.dumps([[[[]]]]).encode(), max_depth=8, max_nodes=1000)


def test_pathological_nesting_does_not_crash() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RequestTooComplex):
        parse_json(raw, max_depth=32, max_nodes=1_000_000)


def test_node_limit() -> None:
    with pytest.raises(RequestTooComplex, match="more than 50 values"):
        check_complexity(list(range(60)), max_depth=8, max_nodes=50)
    check_complexity(list(range(40)), max_depth=8, max_nodes=50)


@pytest.mark.parametrize(
    "raw",
    [
        rb'{"@context": "\udfff"}',
        rb'{"a": ["ok", {"b": "x\ud800y"}]}',
        rb'{"\ud800": 1}',
        b'{"a": "\xed\xa0\x80"}',  # the surrogate as (invalid) UTF-8 bytes
    ],
    ids=["value", "nested value", "key", "utf-8 bytes"],
)
def test_a_lone_surrogate_is_a_bad_request(raw: bytes) -> None:
    # Valid JSON, but no Unicode text: it could be neither stored nor written back as UTF-8.
    with pytest.raises(BadRequest, match="lone UTF-16 surrogate"):
        parse_json(raw, max_depth=8, max_nodes=100)


def test_surrogate_pairs_and_other_text_are_accepted() -> None:
    document = parse_json(rb'{"emoji": "\ud83c\udfd5", "accent": "Occitanie \u00e9t\u00e9"}',
                          max_depth=8, max_nodes=100)  # fmt: skip
    assert document == {"emoji": "\U0001f3d5", "accent": "Occitanie été"}
    assert not holds_unstorable_text(document)


@pytest.mark.parametrize(
    "raw",
    [rb'{"dataset": [{"title": "\ud800"}]}', rb'{"providerPid": "urn:uuid:a\u0000b"}'],
    ids=["lone surrogate", "NUL"],
)
def test_a_peer_answer_with_unstorable_text_is_refused(raw: bytes) -> None:
    # A peer's pid or catalogue is stored: PostgreSQL takes neither in a text or JSON column.
    with pytest.raises(FetchError, match="NUL character or a lone UTF-16 surrogate"):
        Answer(200, httpx.Headers(), raw).json()
    assert Answer(200, httpx.Headers(), b'{"title": "ok"}').json() == {"title": "ok"}


def test_an_error_quoting_a_lone_surrogate_still_renders() -> None:
    response = problem_response(status=400, slug="x", title="Bad Request", detail="bad '\udfff'")
    assert json.loads(response.body)["detail"] == "bad '\udfff'"


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)


@given(_JSON, st.booleans())
def test_the_cheap_text_test_never_clears_unstorable_text(document: object, ascii: bool) -> None:
    # parse_json, JOSE and peer answers skip the walk over strings when the bytes are cleared:
    # whatever the document holds (NUL, lone surrogates, any text), and however it is written
    # (escaped ASCII or raw UTF-8), cleared bytes hold only storable text.
    raw = json.dumps(document, ensure_ascii=ascii).encode("utf-8", "surrogatepass")
    if not may_hold_unstorable_text(raw):
        assert not holds_unstorable_text(json.loads(raw))


@pytest.mark.parametrize(
    ("raw", "cleared"),
    [
        (b'{"title": "Occitanie"}', True),
        (rb'{"a": "x\u0000"}', False),
        (rb'{"a": "\ud800"}', False),
        (rb'{"a": "\u00e9"}', False),  # an escape: not cleared, though storable
        ('{"a": "été"}'.encode(), False),
        (b"\x00", False),
    ],
)
def test_which_bytes_the_cheap_text_test_clears(raw: bytes, cleared: bool) -> None:
    assert may_hold_unstorable_text(raw) is not cleared
