"""From a data address to a filesystem and the exact list of data files, with path safety.

Local paths are resolved (``..`` and every symlink) and must end inside one of the configured data
roots, themselves resolved; in a folder, every data file is checked the same way, so a symlink
that leads out of the roots is refused rather than followed, and one that would make the same file
appear twice (an alias, a loop) is refused too. Object-store addresses name a profile
of the configuration, which brings the endpoint and the credentials.

The file list is taken once, when the source is opened: a stream, a row count and a description of
the same opened source all see the same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from connector.errors import FieldError
from connector.sources.address import LocalFileAddress, S3Address
from connector.sources.config import ObjectStoreConfig, SourceConfig
from connector.sources.errors import (
    ARROW_READ_ERRORS,
    DataAddressError,
    SourceAccessDenied,
    SourceFormatError,
    SourceNotFound,
    translate_arrow_error,
)
from connector.sources.filesystems import local_filesystem, s3_filesystem
from connector.sources.formats import FORMATS, is_data_file


@dataclass(frozen=True)
class Located:
    """Where an address's data is: the filesystem, the base path, and its data files.

    ``base`` is the file itself or the folder / prefix; ``files`` are sorted by path and
    ``is_folder`` says whether paths below ``base`` carry partition folders.
    """

    filesystem: pafs.FileSystem
    base: str
    is_folder: bool
    files: tuple[pafs.FileInfo, ...]

    def relative(self, info: pafs.FileInfo) -> str:
        """The path of ``info`` below the base (its name for a single-file source)."""
        if not self.is_folder:
            return str(info.base_name)
        return str(info.path)[len(self.base) :].lstrip("/")


def check_data_address(address: LocalFileAddress | S3Address, config: SourceConfig) -> None:
    """Check ``address`` against the configuration, without touching the data.

    For the management API when an asset is defined: a local path must resolve inside the data
    roots (as far as it exists yet), an object store must be configured. Raises
    :class:`DataAddressError` naming ``path`` or ``store``; whether the data is there and
    readable is only known when the source is opened.
    """
    if isinstance(address, S3Address):
        _store(address, config)
        return
    try:
        _resolve_local(address, config)
    except SourceAccessDenied as exc:
        message = exc.detail.removeprefix(f"{address.location}: ")
        raise DataAddressError(
            f"invalid data address: path: {message}",
            errors=[FieldError(location="path", message=message)],
            log_detail=exc.log_detail,
        ) from None


def locate(address: LocalFileAddress | S3Address, config: SourceConfig) -> Located:
    """Find the data files of ``address``; every refusal is a :class:`SourceError`."""
    if isinstance(address, LocalFileAddress):
        return _locate_local(address, config)
    return _locate_s3(address, config)


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _resolve_local(address: LocalFileAddress, config: SourceConfig) -> tuple[Path, list[Path]]:
    """The real path of the address and the real data roots; refused outside the roots."""
    where = address.location
    if not config.data_roots:
        raise SourceAccessDenied(f"{where}: no data root is configured, local data is refused")
    roots = [_real(root) for root in config.data_roots]
    raw = Path(address.path)
    resolved = _real(raw if raw.is_absolute() else config.data_roots[0] / raw)
    if not _inside(resolved, roots):
        raise SourceAccessDenied(
            f"{where}: outside the configured data roots", log_detail=f"resolved to {resolved}"
        )
    return resolved, roots


def _locate_local(address: LocalFileAddress, config: SourceConfig) -> Located:
    where = address.location
    resolved, roots = _resolve_local(address, config)
    filesystem = local_filesystem(memory_map=FORMATS[address.format].memory_map)
    try:
        located = _list(filesystem, str(resolved), address, where)
    except ARROW_READ_ERRORS as exc:
        raise translate_arrow_error(exc, source=where) from exc
    seen: dict[Path, str] = {}
    for info in located.files:
        real = _real(info.path)
        name = located.relative(info)
        if not _inside(real, roots):
            raise SourceAccessDenied(
                f"{where}: {name} leads outside the configured data roots",
                log_detail=f"{info.path} resolves to {real}",
            )
        if real in seen:  # symlinks that would read one file twice, or loop
            raise SourceFormatError(f"{where}: {name} and {seen[real]} are the same file")
        seen[real] = name
    return located


def _real(path: str | Path) -> Path:
    """``path`` with ``..`` and every symlink resolved (a symlink loop stays unresolved)."""
    return Path(os.path.realpath(path))


def _store(address: S3Address, config: SourceConfig) -> ObjectStoreConfig:
    store = config.object_stores.get(address.store)
    if store is None:
        message = f"no object store named {address.store!r} is configured"
        raise DataAddressError(
            f"invalid data address: store: {message}",
            errors=[FieldError(location="store", message=message)],
        )
    return store


def _locate_s3(address: S3Address, config: SourceConfig) -> Located:
    where = address.location
    store = _store(address, config)
    try:
        filesystem = s3_filesystem(store)
        return _list(filesystem, f"{address.bucket}/{address.key.rstrip('/')}", address, where)
    except ARROW_READ_ERRORS as exc:
        raise translate_arrow_error(exc, source=where) from exc


def _list(
    filesystem: pafs.FileSystem, base: str, address: LocalFileAddress | S3Address, where: str
) -> Located:
    info = filesystem.get_file_info(base)
    if info.type == pafs.FileType.File:
        return Located(filesystem=filesystem, base=base, is_folder=False, files=(info,))
    if info.type == pafs.FileType.NotFound:
        raise SourceNotFound(f"{where}: no such file or folder")
    if info.type != pafs.FileType.Directory:
        raise SourceNotFound(f"{where}: neither a regular file nor a folder")
    found = filesystem.get_file_info(pafs.FileSelector(base, recursive=True))
    prefix = base.rstrip("/") + "/"
    files = sorted(
        (
            entry
            for entry in found
            if entry.type == pafs.FileType.File
            and entry.path.startswith(prefix)
            and is_data_file(entry.path[len(prefix) :], address.format)
        ),
        key=lambda entry: entry.path,
    )
    if not files:
        raise SourceNotFound(f"{where}: no {address.format} data files in this folder")
    return Located(filesystem=filesystem, base=base, is_folder=True, files=tuple(files))
