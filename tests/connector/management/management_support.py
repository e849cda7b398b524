"""Helpers of the management API suites."""

from __future__ import annotations

from fastapi.testclient import TestClient

from connector.node import Node


def node_of(client: TestClient) -> Node:
    """The node behind ``client`` (to read or seed its store directly)."""
    node = client.app.state.node  # type: ignore[attr-defined]
    assert isinstance(node, Node)
    return node
