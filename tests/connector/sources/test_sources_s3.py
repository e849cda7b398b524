"""S3 sources against a moto server on 127.0.0.1: the reads of local data, plus store errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pytest
from moto.server import ThreadedMotoServer
from sources_data import (
    CSV_COLUMN_TYPES,
    FORMATS,
    PARTITION_KEY,
    SUFFIXES,
    decoded,
    gather,
    make_table,
    write_file,
    write_hive,
)

from connector.sources import (
    DataAddressError,
    ObjectStoreConfig,
    SourceConfig,
    SourceNotFound,
    SourceUnavailable,
    TabularSource,
    open_source,
    parse_data_address,
)

BUCKET = "etds"
REGION = "eu-west-3"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port; no credential or metadata lookup leaves it."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"{host}:{port}"
        finally:
            server.stop()


@pytest.fixture(scope="module")
def store(moto_endpoint: str) -> ObjectStoreConfig:
    return ObjectStoreConfig(
        endpoint_override=moto_endpoint,
        region=REGION,
        scheme="http",
        access_key="testing",
        secret_key="testing",
        connect_timeout=2,
        request_timeout=10,
    )


@pytest.fixture(scope="module")
def expected(
    store: ObjectStoreConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pa.Table]:
    """Upload one object and one hive prefix per format; return the tables to expect."""
    writer = pafs.S3FileSystem(
        access_key="testing",
        secret_key="testing",
        region=REGION,
        scheme="http",
        endpoint_override=store.endpoint_override,
        allow_bucket_creation=True,
    )
    writer.create_dir(BUCKET)
    local = tmp_path_factory.mktemp("upload")
    table = make_table()
    tables = {}
    for fmt in FORMATS:
        write_file(table, local / "single" / f"barometer{SUFFIXES[fmt]}", fmt)
        tables[fmt] = write_hive(table, local / fmt / "barometer", fmt)
    (local / "parquet" / "barometer" / "_SUCCESS").write_bytes(b"")
    pafs.copy_files(
        str(local), BUCKET, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=writer
    )
    tables["single"] = table
    return tables


def s3_address(fmt: str, key: str, **extra: Any) -> dict[str, Any]:
    address: dict[str, Any] = {"type": "S3", "bucket": BUCKET, "key": key, "format": fmt, **extra}
    if fmt == "csv":
        address["column_types"] = CSV_COLUMN_TYPES
    return address


def open_s3(store: ObjectStoreConfig, fmt: str, key: str, **extra: Any) -> TabularSource:
    config = SourceConfig(object_stores={"default": store}, batch_rows=50)
    return open_source(parse_data_address(s3_address(fmt, key, **extra)), config)


@pytest.mark.parametrize("fmt", FORMATS)
def test_single_object(fmt: str, store: ObjectStoreConfig, expected: dict[str, pa.Table]) -> None:
    table = expected["single"]

    source = open_s3(store, fmt, f"single/barometer{SUFFIXES[fmt]}")

    assert source.schema.equals(table.schema)
    assert source.count_rows() == table.num_rows
    batches = list(source.batches())
    assert all(
        b.schema.field("channel").type == pa.dictionary(pa.int32(), pa.string()) for b in batches
    )
    assert decoded(gather(batches, source.schema)).equals(decoded(table))


@pytest.mark.parametrize("fmt", FORMATS)
def test_hive_prefix(fmt: str, store: ObjectStoreConfig, expected: dict[str, pa.Table]) -> None:
    table = expected[fmt]

    source = open_s3(store, fmt, f"{fmt}/barometer/")

    assert source.partition_columns == (PARTITION_KEY,)
    assert source.schema.names == table.schema.names
    assert source.count_rows() == table.num_rows
    assert decoded(gather(source.batches(), source.schema)).equals(decoded(table))
    wanted = (pc.field(PARTITION_KEY) == "2A") & (pc.field("units_booked") < 20)
    rows = pa.Table.from_batches(
        list(source.batches(columns=["units_booked", PARTITION_KEY], filter=wanted))
    )
    assert decoded(rows).equals(
        decoded(table.filter(wanted).select(["units_booked", PARTITION_KEY]))
    )


def test_prefix_without_trailing_slash_and_description(
    store: ObjectStoreConfig, expected: dict[str, pa.Table]
) -> None:
    description = open_s3(store, "parquet", "parquet/barometer").describe()

    assert description.location == "s3://etds/parquet/barometer"
    assert [f.path for f in description.files] == [
        f"{PARTITION_KEY}={v}/part-0.parquet" for v in ("01", "2A", "34")
    ]
    assert all(f.size and f.size > 0 for f in description.files)
    assert description.total_bytes == sum(f.size or 0 for f in description.files)
    assert description.partition_columns == (PARTITION_KEY,)
    assert (
        expected["parquet"].num_rows == open_s3(store, "parquet", "parquet/barometer").count_rows()
    )


@pytest.mark.usefixtures("expected")
@pytest.mark.parametrize("key", ["missing/", "single/missing.parquet"])
def test_missing_key_is_not_found(store: ObjectStoreConfig, key: str) -> None:
    with pytest.raises(SourceNotFound):
        open_s3(store, "parquet", key)


@pytest.mark.usefixtures("expected")
def test_missing_bucket_is_not_found(store: ObjectStoreConfig) -> None:
    config = SourceConfig(object_stores={"default": store})
    address = {**s3_address("parquet", "x/"), "bucket": "no-such-bucket"}

    with pytest.raises(SourceNotFound):
        open_source(parse_data_address(address), config)


@pytest.mark.usefixtures("expected")
def test_prefix_of_another_format_has_no_data_files(store: ObjectStoreConfig) -> None:
    with pytest.raises(SourceNotFound, match="no arrow data files"):
        open_s3(store, "arrow", "parquet/barometer/")


def test_unknown_store_is_an_address_error(store: ObjectStoreConfig) -> None:
    config = SourceConfig(object_stores={"default": store})

    with pytest.raises(DataAddressError, match="store: no object store named 'archive'") as caught:
        open_source(parse_data_address(s3_address("parquet", "x", store="archive")), config)
    assert [e.location for e in caught.value.errors] == ["store"]


def test_unreachable_endpoint_is_unavailable() -> None:
    dead = ObjectStoreConfig(
        endpoint_override=f"127.0.0.1:{closed_port()}",
        region=REGION,
        scheme="http",
        access_key="testing",
        secret_key="testing",
        connect_timeout=1,
        request_timeout=2,
        max_attempts=1,
    )

    with pytest.raises(SourceUnavailable) as caught:
        open_s3(dead, "parquet", "single/barometer.parquet")
    assert caught.value.status == 503
    assert "127.0.0.1" not in caught.value.detail


@pytest.mark.usefixtures("expected")
def test_proxy_environment_is_ignored(
    store: ObjectStoreConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{closed_port()}"
    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)

    assert open_s3(store, "parquet", "single/barometer.parquet").count_rows() == 240


def test_local_and_s3_read_the_same_rows(
    store: ObjectStoreConfig, expected: dict[str, pa.Table], tmp_path: Path
) -> None:
    write_hive(make_table(), tmp_path / "barometer", "arrow")
    local = open_source(
        parse_data_address({"type": "LocalFile", "path": "barometer", "format": "arrow"}),
        SourceConfig(data_roots=(tmp_path,)),
    )
    remote = open_s3(store, "arrow", "arrow/barometer")

    assert local.schema.equals(remote.schema)
    assert decoded(gather(local.batches(), local.schema)).equals(
        decoded(gather(remote.batches(), remote.schema))
    )
    assert expected["arrow"].num_rows == local.count_rows()


@pytest.mark.usefixtures("expected")
def test_anonymous_store_sends_unsigned_requests(store: ObjectStoreConfig) -> None:
    public = ObjectStoreConfig(
        endpoint_override=store.endpoint_override, region=REGION, scheme="http", anonymous=True
    )

    assert open_s3(public, "parquet", "single/barometer.parquet").count_rows() == 240
