"""Options and helpers shared by the ``etds`` subcommands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from connector.settings import Settings, SettingsError, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def config_option(function: F) -> F:
    """``--config FILE`` (default: ``$ETDS_CONFIG``, else built-in defaults + environment)."""
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="TOML settings file (default: $ETDS_CONFIG, else defaults and ETDS_* variables).",
    )(function)


def settings_or_exit(config_file: Path | None, **overrides: Any) -> Settings:
    """Load the settings, or print every problem and exit with status 2."""
    try:
        return load_settings(config_file, **overrides)
    except SettingsError as exc:
        click.echo(f"etds: {exc}", err=True)
        raise SystemExit(2) from None
