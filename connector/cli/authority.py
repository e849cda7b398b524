"""``etds authority``: run the dataspace authority and manage its participant registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from connector.identity.authority.settings import AuthoritySettings
    from connector.store.database import Database
    from connector.store.repositories.participants import ParticipantRecord, ParticipantStatus


def _config_option(function: Any) -> Any:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Authority TOML settings (default: $ETDS_AUTHORITY_CONFIG).",
    )(function)


def _settings(config_file: Path | None) -> AuthoritySettings:
    from connector.identity.authority.settings import load_authority_settings
    from connector.settings import SettingsError

    try:
        return load_authority_settings(config_file)
    except SettingsError as error:
        click.echo(f"etds: {error}", err=True)
        raise SystemExit(2) from None


@contextmanager
def _database(config_file: Path | None) -> Iterator[Database]:
    from connector.store.database import Database
    from connector.store.migrate import upgrade

    settings = _settings(config_file)
    database = Database.from_url(settings.database.url.get_secret_value())
    try:
        if settings.database.auto_migrate:
            upgrade(database)
        yield database
    finally:
        database.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def _summary(record: ParticipantRecord) -> str:
    attributes = [
        f"org_type={record.org_type}" if record.org_type else "",
        f"country={record.country}" if record.country else "",
        f"nuts={','.join(record.nuts)}" if record.nuts else "",
        f"membership={record.membership}" if record.membership else "",
        f"scopes={','.join(record.scopes)}",
        f"audiences={','.join(record.audiences)}" if record.audiences else "",
        f"keys={','.join(key['kid'][:12] for key in record.jwks['keys'])}",
    ]
    details = " ".join(item for item in attributes if item)
    return f"{record.id}  [{record.status}]  {record.name}  {details}"


def _keys(jwks: tuple[str, ...], key_files: tuple[Path, ...]) -> list[dict[str, Any]]:
    from connector.identity.keys import InvalidKey, read_public_jwk

    collected: list[dict[str, Any]] = []
    for text in jwks:
        try:
            parsed = json.loads(text)
        except ValueError:
            raise click.BadParameter("not JSON", param_hint="--jwk") from None
        collected.append(parsed)
    for path in key_files:
        try:
            collected.append(read_public_jwk(path))
        except InvalidKey as error:
            raise click.BadParameter(str(error), param_hint="--key-file") from None
    if not collected:
        raise click.UsageError("give the participant's public key: --key-file FILE or --jwk JSON")
    return collected


def _store_errors(action: Any) -> Any:
    from connector.identity.authority.registry import InvalidRegistration
    from connector.store.errors import StoreError

    try:
        return action()
    except (InvalidRegistration, StoreError) as error:
        raise click.ClickException(str(error)) from None


@click.group()
def authority() -> None:
    """The dataspace authority (OAuth 2.0 server) and its participant registry."""


@authority.command("serve")
@_config_option
@click.option("--host", default=None, help="Listen address (overrides host).")
@click.option("--port", type=int, default=None, help="Listen port (overrides port).")
def authority_serve(config_file: Path | None, host: str | None, port: int | None) -> None:
    """Run the authority until interrupted."""
    import uvicorn

    from connector.identity.authority.app import create_authority_app
    from connector.identity.keys import InvalidKey
    from connector.logs import configure_logging

    settings = _settings(config_file)
    configure_logging(settings.logging.level, settings.logging.format)
    try:
        app = create_authority_app(settings)
    except InvalidKey as error:
        raise click.ClickException(str(error)) from None
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


key_options = [
    click.option("--jwk", "jwks", multiple=True, help="A public JWK (JSON); repeatable."),
    click.option(
        "--key-file",
        "key_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A key file (PEM public or private key, or JWK): only its public key is stored.",
    ),
]


def _with_key_options(function: Any) -> Any:
    for option in reversed(key_options):
        function = option(function)
    return function


@authority.command("register")
@_config_option
@click.option("--id", "participant_id", required=True, help="Participant id (= client id).")
@click.option("--name", required=True, help="Organisation name.")
@_with_key_options
@click.option("--org-type", default=None, help="e.g. regional_agency, research, company.")
@click.option("--country", default=None, help="ISO 3166-1 alpha-2, e.g. FR.")
@click.option("--nuts", multiple=True, help="NUTS code of a region of competence; repeatable.")
@click.option("--membership", default="active", show_default=True)
@click.option("--scope", "scopes", multiple=True, help="Allowed scope; repeatable (default: dsp).")
@click.option(
    "--audience",
    "audiences",
    multiple=True,
    help="Management URL an administrator client may ask tokens for; repeatable.",
)
def authority_register(
    config_file: Path | None,
    participant_id: str,
    name: str,
    jwks: tuple[str, ...],
    key_files: tuple[Path, ...],
    org_type: str | None,
    country: str | None,
    nuts: tuple[str, ...],
    membership: str,
    scopes: tuple[str, ...],
    audiences: tuple[str, ...],
) -> None:
    """Register a participant (or an administrator client) with its public key."""
    from connector.identity.authority.registry import PROTOCOL_SCOPE, Registration, register

    registration = Registration(
        id=participant_id,
        name=name,
        keys=_keys(jwks, key_files),
        org_type=org_type,
        country=country,
        nuts=nuts,
        membership=membership or None,
        scopes=scopes or (PROTOCOL_SCOPE,),
        audiences=audiences,
    )
    with _database(config_file) as database:
        record = _store_errors(lambda: register(database, registration, now=_now()))
    click.echo(f"registered {_summary(record)}")


def _status_command(name: str, status: ParticipantStatus, help_text: str) -> None:
    @authority.command(name, help=help_text)
    @_config_option
    @click.argument("participant_id")
    def command(config_file: Path | None, participant_id: str) -> None:
        from connector.identity.authority.registry import set_status

        with _database(config_file) as database:
            record = _store_errors(lambda: set_status(database, participant_id, status, now=_now()))
        click.echo(_summary(record))


_status_command("suspend", "suspended", "Suspend a participant: it gets no new token.")
_status_command("reinstate", "active", "Lift a suspension.")
_status_command("revoke", "revoked", "Revoke a participant for good.")


@authority.command("set-keys")
@_config_option
@click.argument("participant_id")
@_with_key_options
def authority_set_keys(
    config_file: Path | None,
    participant_id: str,
    jwks: tuple[str, ...],
    key_files: tuple[Path, ...],
) -> None:
    """Replace a participant's public keys (give old and new during its key rotation)."""
    from connector.identity.authority.registry import set_keys

    keys = _keys(jwks, key_files)
    with _database(config_file) as database:
        record = _store_errors(lambda: set_keys(database, participant_id, keys, now=_now()))
    click.echo(_summary(record))


@authority.command("list")
@_config_option
@click.option("--status", type=click.Choice(["active", "suspended", "revoked"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per participant.")
def authority_list(
    config_file: Path | None, status: ParticipantStatus | None, as_json: bool
) -> None:
    """List the registered participants."""
    from connector.identity.authority.registry import participants

    with _database(config_file) as database:
        records = participants(database, status)
    for record in records:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": record.id,
                        "name": record.name,
                        "status": record.status,
                        "org_type": record.org_type,
                        "country": record.country,
                        "nuts": record.nuts,
                        "membership": record.membership,
                        "scopes": record.scopes,
                        "audiences": record.audiences,
                        "kids": [key["kid"] for key in record.jwks["keys"]],
                    }
                )
            )
        else:
            click.echo(_summary(record))
