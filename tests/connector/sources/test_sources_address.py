"""Parsing data addresses: valid shapes, tolerated extras, and an error naming each bad field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connector.errors import BadRequest
from connector.sources import (
    DataAddressError,
    LocalFileAddress,
    S3Address,
    parse_data_address,
)

LOCAL: dict[str, Any] = {"type": "LocalFile", "path": "barometer/", "format": "parquet"}
S3: dict[str, Any] = {
    "type": "S3",
    "bucket": "etds",
    "key": "barometer/",
    "format": "parquet",
    "partitioning": "hive",
    "store": "default",
}


def test_local_file_address_with_defaults() -> None:
    address = parse_data_address(LOCAL)

    assert isinstance(address, LocalFileAddress)
    assert address.path == "barometer/"
    assert address.format == "parquet"
    assert address.partitioning == "hive"
    assert address.location == "barometer/"


def test_s3_address() -> None:
    address = parse_data_address(S3)

    assert isinstance(address, S3Address)
    assert (address.bucket, address.key, address.store) == ("etds", "barometer/", "default")
    assert address.location == "s3://etds/barometer/"


def test_s3_store_defaults_to_default() -> None:
    address = parse_data_address({k: v for k, v in S3.items() if k != "store"})

    assert isinstance(address, S3Address)
    assert address.store == "default"


def test_extra_keys_are_tolerated() -> None:
    address = parse_data_address(
        {**LOCAL, "@type": "DataAddress", "comment": "weekly snapshots", "edc:foo": 1}
    )

    assert isinstance(address, LocalFileAddress)
    assert "comment" not in address.model_dump()


def test_csv_options() -> None:
    address = parse_data_address(
        {
            **LOCAL,
            "format": "csv",
            "delimiter": "\t",
            "encoding": "UTF-8",
            "column_types": {"departement_code": "string", "stay_date": "date"},
        }
    )

    assert address.csv_delimiter == "\t"
    assert address.encoding == "utf-8"
    assert address.column_types == {"departement_code": "string", "stay_date": "date"}
    assert parse_data_address({**LOCAL, "format": "csv"}).csv_delimiter == ","


def test_addresses_are_immutable() -> None:
    address = parse_data_address(LOCAL)
    assert isinstance(address, LocalFileAddress)

    with pytest.raises(ValidationError):
        address.path = "/etc"  # type: ignore[misc]


def fields_of(obj: Any) -> list[str]:
    with pytest.raises(DataAddressError) as caught:
        parse_data_address(obj)
    error = caught.value
    assert error.status == 400
    assert isinstance(error, BadRequest)
    for field_error in error.errors:
        assert f"{field_error.location}: " in error.detail
    return [field_error.location for field_error in error.errors]


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"path": "x", "format": "parquet"}, "type"),
        ({**LOCAL, "type": "Http"}, "type"),
        ({**LOCAL, "type": 3}, "type"),
        ({k: v for k, v in LOCAL.items() if k != "path"}, "path"),
        ({**LOCAL, "path": ""}, "path"),
        ({**LOCAL, "path": 12}, "path"),
        ({**LOCAL, "path": "a\x00b"}, "path"),
        ({**LOCAL, "path": "x" * 5000}, "path"),
        ({k: v for k, v in LOCAL.items() if k != "format"}, "format"),
        ({**LOCAL, "format": "json"}, "format"),
        ({**LOCAL, "format": "PARQUET"}, "format"),
        ({**LOCAL, "partitioning": "directory"}, "partitioning"),
        ({**LOCAL, "partitioning": None}, "partitioning"),
        ({**LOCAL, "format": "csv", "delimiter": ";;"}, "delimiter"),
        ({**LOCAL, "format": "csv", "delimiter": ""}, "delimiter"),
        ({**LOCAL, "format": "csv", "delimiter": '"'}, "delimiter"),
        ({**LOCAL, "format": "csv", "delimiter": 59}, "delimiter"),
        ({**LOCAL, "delimiter": ";"}, "delimiter"),
        ({**LOCAL, "format": "csv", "encoding": "latin-1"}, "encoding"),
        ({**LOCAL, "encoding": "utf-8"}, "encoding"),
        ({**LOCAL, "format": "csv", "column_types": {"a": "varchar"}}, "column_types.a"),
        ({**LOCAL, "format": "csv", "column_types": ["a"]}, "column_types"),
        ({**LOCAL, "column_types": {"a": "string"}}, "column_types"),
        ({k: v for k, v in S3.items() if k != "bucket"}, "bucket"),
        ({**S3, "bucket": "Etds_Data"}, "bucket"),
        ({**S3, "bucket": "ab"}, "bucket"),
        ({k: v for k, v in S3.items() if k != "key"}, "key"),
        ({**S3, "key": ""}, "key"),
        ({**S3, "key": "/barometer"}, "key"),
        ({**S3, "key": "a/../other-bucket"}, "key"),
        ({**S3, "key": "a//b"}, "key"),
        ({**S3, "key": "./a"}, "key"),
        ({**S3, "key": "a\nb"}, "key"),
        ({**S3, "store": "../x"}, "store"),
        ({**S3, "store": ""}, "store"),
        ({**S3, "store": None}, "store"),
    ],
)
def test_each_invalid_field_is_named(obj: dict[str, Any], field: str) -> None:
    assert fields_of(obj) == [field]


def test_csv_options_with_an_invalid_format_only_name_the_format() -> None:
    assert fields_of({**LOCAL, "format": "CSV", "delimiter": ";"}) == ["format"]


def test_several_invalid_fields_are_all_named() -> None:
    fields = fields_of({"type": "S3", "bucket": "UPPER", "key": "/k", "format": "xls"})

    assert sorted(fields) == ["bucket", "format", "key"]


@pytest.mark.parametrize("obj", [["LocalFile"], "LocalFile", None, 3])
def test_non_object_is_refused(obj: Any) -> None:
    assert fields_of(obj) == ["(address)"]


def test_detail_names_field_and_reason() -> None:
    with pytest.raises(DataAddressError, match=r"invalid data address: format: Input should be"):
        parse_data_address({**LOCAL, "format": "xlsx"})
