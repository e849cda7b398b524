"""Local addresses stay inside the data roots: ``..``, absolute paths and symlinks cannot escape."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest
from sources_data import write_file

from connector.sources import (
    DataAddressError,
    ObjectStoreConfig,
    SourceAccessDenied,
    SourceConfig,
    SourceFormatError,
    SourceNotFound,
    TabularSource,
    check_data_address,
    open_source,
    parse_data_address,
)


def open_path(config: SourceConfig, path: str) -> TabularSource:
    address = {"type": "LocalFile", "path": path, "format": "parquet"}
    return open_source(parse_data_address(address), config)


@pytest.fixture
def outside(tmp_path: Path, table: pa.Table) -> Path:
    """A folder next to the data root, holding a readable Parquet file."""
    folder = tmp_path / "outside"
    write_file(table, folder / "secret.parquet", "parquet")
    return folder


def test_relative_path_is_below_the_first_root(
    data_root: Path, config: SourceConfig, table: pa.Table
) -> None:
    write_file(table, data_root / "a" / "t.parquet", "parquet")

    assert open_path(config, "a/t.parquet").count_rows() == table.num_rows
    assert open_path(config, "a/../a/./t.parquet").count_rows() == table.num_rows


def test_absolute_path_inside_any_root(tmp_path: Path, data_root: Path, table: pa.Table) -> None:
    second = tmp_path / "second"
    write_file(table, second / "t.parquet", "parquet")
    config = SourceConfig(data_roots=(data_root, second))

    assert open_path(config, str(second / "t.parquet")).count_rows() == table.num_rows


@pytest.mark.usefixtures("outside")
def test_dot_dot_escape_is_refused(config: SourceConfig, data_root: Path) -> None:
    with pytest.raises(SourceAccessDenied, match="outside the configured data roots") as caught:
        open_path(config, "../outside/secret.parquet")

    assert caught.value.status == 403
    assert str(data_root) not in caught.value.detail
    assert caught.value.log_detail is not None
    assert "outside/secret.parquet" in caught.value.log_detail


def test_absolute_path_outside_roots_is_refused(config: SourceConfig, outside: Path) -> None:
    with pytest.raises(SourceAccessDenied):
        open_path(config, str(outside / "secret.parquet"))


def test_sibling_with_common_prefix_is_outside(tmp_path: Path, table: pa.Table) -> None:
    write_file(table, tmp_path / "data2" / "t.parquet", "parquet")
    config = SourceConfig(data_roots=(tmp_path / "data",))

    with pytest.raises(SourceAccessDenied):
        open_path(config, str(tmp_path / "data2" / "t.parquet"))
    with pytest.raises(SourceAccessDenied):
        open_path(config, "../data2/t.parquet")


def test_missing_path_outside_roots_is_refused_not_reported_missing(config: SourceConfig) -> None:
    with pytest.raises(SourceAccessDenied):
        open_path(config, "../nowhere/x.parquet")
    with pytest.raises(SourceAccessDenied):
        open_path(config, "/etc/nowhere.parquet")


def test_symlinked_file_escaping_a_root_is_refused(
    config: SourceConfig, data_root: Path, outside: Path
) -> None:
    (data_root / "link.parquet").symlink_to(outside / "secret.parquet")

    with pytest.raises(SourceAccessDenied):
        open_path(config, "link.parquet")


def test_symlinked_folder_escaping_a_root_is_refused(
    config: SourceConfig, data_root: Path, outside: Path
) -> None:
    (data_root / "linked").symlink_to(outside, target_is_directory=True)

    with pytest.raises(SourceAccessDenied):
        open_path(config, "linked")
    with pytest.raises(SourceAccessDenied):
        open_path(config, "linked/secret.parquet")


def test_symlink_inside_a_folder_escaping_a_root_is_refused(
    config: SourceConfig, data_root: Path, outside: Path, table: pa.Table
) -> None:
    write_file(table, data_root / "mixed" / "a.parquet", "parquet")
    (data_root / "mixed" / "b.parquet").symlink_to(outside / "secret.parquet")

    with pytest.raises(SourceAccessDenied, match=r"mixed: b\.parquet leads outside"):
        open_path(config, "mixed")


def test_symlinked_subfolder_escaping_a_root_is_refused(
    config: SourceConfig, data_root: Path, outside: Path, table: pa.Table
) -> None:
    write_file(table, data_root / "mixed" / "k=1" / "a.parquet", "parquet")
    (data_root / "mixed" / "k=2").symlink_to(outside, target_is_directory=True)

    with pytest.raises(SourceAccessDenied):
        open_path(config, "mixed")


def test_symlinks_within_the_roots_are_followed(
    config: SourceConfig, data_root: Path, table: pa.Table
) -> None:
    write_file(table, data_root / "real" / "t.parquet", "parquet")
    write_file(table, data_root / "elsewhere" / "e.parquet", "parquet")
    (data_root / "alias").symlink_to(data_root / "real", target_is_directory=True)
    (data_root / "real" / "u.parquet").symlink_to(data_root / "elsewhere" / "e.parquet")

    assert open_path(config, "alias/t.parquet").count_rows() == table.num_rows
    assert open_path(config, "alias").count_rows() == 2 * table.num_rows


def test_a_file_reached_twice_is_refused(
    config: SourceConfig, data_root: Path, table: pa.Table
) -> None:
    write_file(table, data_root / "real" / "t.parquet", "parquet")
    (data_root / "real" / "u.parquet").symlink_to(data_root / "real" / "t.parquet")

    with pytest.raises(SourceFormatError, match=r"u\.parquet and t\.parquet are the same file"):
        open_path(config, "real")


def test_symlink_loop_in_a_folder_is_refused(
    config: SourceConfig, data_root: Path, table: pa.Table
) -> None:
    write_file(table, data_root / "looped" / "k=1" / "t.parquet", "parquet")
    (data_root / "looped" / "k=1" / "k=2").symlink_to("..", target_is_directory=True)

    with pytest.raises(SourceFormatError, match="are the same file"):
        open_path(config, "looped")


def test_self_referencing_symlink_is_not_found(config: SourceConfig, data_root: Path) -> None:
    (data_root / "self.parquet").symlink_to("self.parquet")

    with pytest.raises(SourceNotFound):
        open_path(config, "self.parquet")


def test_a_root_that_is_itself_a_symlink(tmp_path: Path, data_root: Path, table: pa.Table) -> None:
    write_file(table, data_root / "t.parquet", "parquet")
    (tmp_path / "root-link").symlink_to(data_root, target_is_directory=True)
    config = SourceConfig(data_roots=(tmp_path / "root-link",))

    assert open_path(config, "t.parquet").count_rows() == table.num_rows
    assert open_path(config, str(data_root / "t.parquet")).count_rows() == table.num_rows


def test_no_data_root_refuses_every_local_address(data_root: Path, table: pa.Table) -> None:
    write_file(table, data_root / "t.parquet", "parquet")
    config = SourceConfig()

    with pytest.raises(SourceAccessDenied, match="no data root is configured"):
        open_path(config, str(data_root / "t.parquet"))
    with pytest.raises(SourceAccessDenied):
        open_path(config, "t.parquet")


def test_missing_path_inside_a_root_is_not_found(config: SourceConfig) -> None:
    with pytest.raises(SourceNotFound):
        open_path(config, "nothing/here.parquet")


def test_relative_roots_are_made_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_root: Path, table: pa.Table
) -> None:
    write_file(table, data_root / "t.parquet", "parquet")
    monkeypatch.chdir(tmp_path)
    config = SourceConfig(data_roots=(Path("data"),))
    monkeypatch.chdir("/")

    assert config.data_roots == (data_root,)
    assert open_path(config, "t.parquet").count_rows() == table.num_rows


def test_fifo_is_not_read(config: SourceConfig, data_root: Path) -> None:
    os.mkfifo(data_root / "pipe.parquet")

    with pytest.raises(SourceNotFound, match="neither a regular file nor a folder"):
        open_path(config, "pipe.parquet")


def check(config: SourceConfig, address: dict[str, str]) -> list[str]:
    with pytest.raises(DataAddressError) as caught:
        check_data_address(parse_data_address(address), config)
    assert caught.value.status == 400
    return [error.location for error in caught.value.errors]


def test_check_accepts_paths_inside_a_root_even_before_the_data_exists(
    config: SourceConfig, data_root: Path
) -> None:
    for path in ("later/barometer/", str(data_root / "x.parquet"), "a/../b"):
        check_data_address(
            parse_data_address({"type": "LocalFile", "path": path, "format": "csv"}), config
        )


@pytest.mark.usefixtures("outside")
@pytest.mark.parametrize("path", ["../../etc", "/etc/passwd", "../outside/secret.parquet"])
def test_check_refuses_paths_outside_the_roots(config: SourceConfig, path: str) -> None:
    address = {"type": "LocalFile", "path": path, "format": "parquet"}

    assert check(config, address) == ["path"]


def test_check_refuses_symlinks_out_of_the_roots(
    config: SourceConfig, data_root: Path, outside: Path
) -> None:
    (data_root / "linked").symlink_to(outside, target_is_directory=True)

    assert check(config, {"type": "LocalFile", "path": "linked/new", "format": "parquet"}) == [
        "path"
    ]


def test_check_without_roots_names_the_path() -> None:
    with pytest.raises(DataAddressError, match="path: no data root is configured"):
        check_data_address(
            parse_data_address({"type": "LocalFile", "path": "x", "format": "csv"}), SourceConfig()
        )


def test_check_names_an_unknown_store(config: SourceConfig) -> None:
    address = {"type": "S3", "bucket": "etds", "key": "k", "format": "csv", "store": "nope"}

    assert check(config, address) == ["store"]
    stores = SourceConfig(object_stores={"nope": ObjectStoreConfig()})
    check_data_address(parse_data_address(address), stores)
