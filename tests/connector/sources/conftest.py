"""Fixtures of the source tests: a data root with its configuration, and the sample table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from sources_data import make_table

from connector.sources import SourceConfig


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    return root


@pytest.fixture
def config(data_root: Path) -> SourceConfig:
    return SourceConfig(data_roots=(data_root,), batch_rows=50)


@pytest.fixture
def table() -> pa.Table:
    return make_table()
