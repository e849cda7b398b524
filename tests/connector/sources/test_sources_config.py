"""Source configuration: validated at construction, immutable, secrets kept out of repr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.sources import ObjectStoreConfig, SourceConfig


def test_object_store_defaults() -> None:
    store = ObjectStoreConfig()

    assert (store.endpoint_override, store.region, store.scheme) == (None, "us-east-1", "https")
    assert store.access_key is None
    assert not store.anonymous


def test_secrets_are_not_in_repr() -> None:
    store = ObjectStoreConfig(
        endpoint_override="minio.internal:9000", access_key="AKIAEXAMPLE", secret_key="s3cr3t-value"
    )

    assert "s3cr3t-value" not in repr(store)
    assert "AKIAEXAMPLE" not in repr(store)
    assert "s3cr3t-value" not in repr(SourceConfig(object_stores={"default": store}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "ftp"}, "scheme"),
        ({"endpoint_override": "http://minio:9000"}, "endpoint_override"),
        ({"endpoint_override": ""}, "endpoint_override"),
        ({"region": ""}, "region"),
        ({"access_key": "a"}, "together"),
        ({"secret_key": "s"}, "together"),
        ({"anonymous": True, "access_key": "a", "secret_key": "s"}, "anonymous"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"request_timeout": -1.0}, "request_timeout"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_invalid_object_store(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ObjectStoreConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_rows": 0}, "batch_rows"),
        ({"batch_rows": 2**30}, "batch_rows"),
        ({"batch_readahead": -1}, "batch_readahead"),
        ({"batch_readahead": 1000}, "batch_readahead"),
        ({"object_stores": {"bad name": ObjectStoreConfig()}}, "object store name"),
    ],
)
def test_invalid_source_config(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SourceConfig(**kwargs)


def test_source_config_is_immutable(tmp_path: Path) -> None:
    stores = {"default": ObjectStoreConfig()}
    config = SourceConfig(data_roots=(tmp_path,), object_stores=stores)
    stores["other"] = ObjectStoreConfig()

    assert list(config.object_stores) == ["default"]
    with pytest.raises(TypeError):
        config.object_stores["x"] = ObjectStoreConfig()  # type: ignore[index]
    with pytest.raises(AttributeError):
        config.batch_rows = 1  # type: ignore[misc]
