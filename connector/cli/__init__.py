"""The ``etds`` command: run a node or the dataspace authority, generate sample data and keys,
manage assets, participants and the database."""

from __future__ import annotations

import click

from connector.cli.assets import assets
from connector.cli.authority import authority
from connector.cli.db import db
from connector.cli.generate import generate
from connector.cli.keys import keys
from connector.cli.serve import config, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="etds-connector")
def cli() -> None:
    """etds-connector: a European Tourism Data Space connector node."""


cli.add_command(serve)
cli.add_command(config)
cli.add_command(generate)
cli.add_command(assets)
cli.add_command(db)
cli.add_command(keys)
cli.add_command(authority)


def main() -> None:
    cli()
