"""``etds serve`` and ``etds config check``."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli.common import config_option, settings_or_exit
from connector.settings import Settings


@click.command()
@config_option
@click.option("--host", default=None, help="Listen address (overrides node.host).")
@click.option("--port", type=int, default=None, help="Listen port (overrides node.port).")
def serve(config_file: Path | None, host: str | None, port: int | None) -> None:
    """Run the node (management API, health probes) until interrupted."""
    import uvicorn

    from connector.app import create_app
    from connector.logs import configure_logging

    settings = settings_or_exit(config_file)
    configure_logging(settings.logging.level, settings.logging.format)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.node.host,
        port=port or settings.node.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


@click.group()
def config() -> None:
    """Inspect the settings."""


@config.command("check")
@config_option
def config_check(config_file: Path | None) -> None:
    """Validate the settings (file + environment) and print a summary without secrets."""
    settings: Settings = settings_or_exit(config_file)
    click.echo(f"profile:         {settings.profile}")
    click.echo(f"participant id:  {settings.node.participant_id}")
    click.echo(f"public url:      {settings.node.public_url}")
    click.echo(f"listen:          {settings.node.host}:{settings.node.port}")
    backend = settings.database.url.get_secret_value().split(":", 1)[0]
    click.echo(f"database:        {backend}")
    click.echo(f"data roots:      {', '.join(str(p) for p in settings.storage.data_roots)}")
    click.echo(f"object stores:   {', '.join(settings.storage.object_stores) or '-'}")
    click.echo("settings are valid")
