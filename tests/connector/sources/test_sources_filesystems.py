"""S3 clients are built from a store profile, without touching the network."""

from __future__ import annotations

import pytest

from connector.sources import ObjectStoreConfig
from connector.sources.filesystems import s3_filesystem


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize(
    "store",
    [
        ObjectStoreConfig(region="eu-west-3", access_key="a", secret_key="s"),
        ObjectStoreConfig(region="eu-west-3", anonymous=True),
        ObjectStoreConfig(
            region="eu-west-3", endpoint_override="127.0.0.1:9000", scheme="http", max_attempts=1
        ),
    ],
    ids=["keys", "anonymous", "default-chain"],
)
def test_s3_filesystem_follows_the_profile(store: ObjectStoreConfig) -> None:
    filesystem = s3_filesystem(store)

    assert filesystem.region == "eu-west-3"
    assert filesystem.type_name == "s3"
