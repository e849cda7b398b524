"""``etds assets add|list``: manage a running node's assets through its management API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from connector.cli.common import config_option, settings_or_exit


@dataclass(frozen=True)
class _Endpoint:
    """The node's management API, the key to call it with, and the authorities its certificate
    may come from (``security.tls_ca_file`` besides the public ones)."""

    url: str
    key: str
    ca_file: Path | None


def _endpoint(config_file: Path | None, url: str | None, api_key: str | None) -> _Endpoint:
    settings = settings_or_exit(config_file)
    base = (url or str(settings.node.public_url)).rstrip("/")
    keys = settings.management.all_api_keys()
    key = api_key or (keys[0] if keys else None)
    if not key:
        raise click.UsageError("no API key: pass --api-key or set ETDS_API_KEY")
    return _Endpoint(base + "/management/v3", key, settings.security.tls_ca_file)


def _call(method: str, endpoint: _Endpoint, path: str, body: Any) -> Any:
    import httpx

    from connector.http.tls import outbound_ssl_context

    url = endpoint.url + path
    try:
        verify = outbound_ssl_context(endpoint.ca_file)
        with httpx.Client(timeout=30.0, trust_env=False, verify=verify) as client:
            response = client.request(method, url, json=body, headers={"X-Api-Key": endpoint.key})
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the node at {url}: {exc}") from None
    if response.status_code >= 400:
        try:
            problem = response.json()
            detail = problem.get("detail") or problem.get("title")
            errors = "".join(
                f"\n  - {e['location']}: {e['message']}" for e in problem.get("errors", [])
            )
        except (ValueError, AttributeError):
            detail, errors = response.text[:500], ""
        raise click.ClickException(f"{response.status_code}: {detail}{errors}")
    return response.json() if response.content else None


def _string_items(pairs: tuple[str, ...]) -> dict[str, str]:
    items = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--property")
        items[key] = value
    return items


common_options = [
    config_option,
    click.option("--url", default=None, help="Node base URL (default: node.public_url)."),
    click.option(
        "--api-key",
        envvar="ETDS_API_KEY",
        default=None,
        help="Administrator API key (default: $ETDS_API_KEY, else the first configured key).",
    ),
]


def with_common_options(function: Any) -> Any:
    for option in reversed(common_options):
        function = option(function)
    return function


@click.group()
def assets() -> None:
    """Assets of a running node (through its management API)."""


@assets.command("add")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--id", "asset_id", default=None, help="Asset id (default: generated).")
@click.option("--name", default=None, help="Short name of the asset.")
@click.option("--path", "data_path", default=None, help="Data path under a data root.")
@click.option(
    "--format",
    "data_format",
    type=click.Choice(["parquet", "csv", "arrow"]),
    default="parquet",
    show_default=True,
)
@click.option("--property", "properties", multiple=True, help="Extra property KEY=VALUE.")
@with_common_options
def assets_add(
    file: Path | None,
    asset_id: str | None,
    name: str | None,
    data_path: str | None,
    data_format: str,
    properties: tuple[str, ...],
    config_file: Path | None,
    url: str | None,
    api_key: str | None,
) -> None:
    """Create an asset from FILE (EDC asset JSON / JSON-LD) or from the options."""
    if file is not None:
        body = json.loads(file.read_text(encoding="utf-8"))
    else:
        if not data_path:
            raise click.UsageError("give an asset FILE or at least --path")
        props: dict[str, Any] = _string_items(properties)
        if name:
            props["name"] = name
        body = {
            "@type": "Asset",
            "properties": props,
            "dataAddress": {"type": "LocalFile", "path": data_path, "format": data_format},
        }
        if asset_id:
            body["@id"] = asset_id
    created = _call("POST", _endpoint(config_file, url, api_key), "/assets", body)
    click.echo(created["@id"])


@assets.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON-LD.")
@with_common_options
def assets_list(
    limit: int, as_json: bool, config_file: Path | None, url: str | None, api_key: str | None
) -> None:
    """List the node's assets."""
    query = {"@type": "QuerySpec", "limit": limit}
    found = _call("POST", _endpoint(config_file, url, api_key), "/assets/request", query)
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "name", "data")
    for asset in found:
        props = asset.get("properties", {})
        title = props.get("name") or props.get("dct:title") or ""
        if isinstance(title, dict | list):
            title = json.dumps(title, ensure_ascii=False)
        address = asset.get("dataAddress", {})
        where = address.get("path") or f"s3://{address.get('bucket')}/{address.get('key')}"
        table.add_row(
            asset["@id"], str(title), f"{address.get('type')} {where} ({address.get('format')})"
        )
    Console().print(table)
