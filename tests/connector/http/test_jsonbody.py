"""JSON bodies: syntax, emptiness and complexity limits give clear 400s, never a crash."""

from __future__ import annotations

import json

import pytest

from connector.errors import BadRequest, RequestTooComplex
from connector.http.jsonbody import check_complexity, parse_json


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
