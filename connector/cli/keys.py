"""``etds keys generate|show``: signing keys for nodes, administrators and the authority."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def keys() -> None:
    """Signing keys (EC P-256 / ES256 or Ed25519 / EdDSA)."""


@keys.command("generate")
@click.option(
    "--type",
    "key_type",
    type=click.Choice(["ec", "ed25519"]),
    default="ec",
    show_default=True,
    help="EC P-256 (ES256) or Ed25519 (EdDSA).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private key file to write (PEM, created with mode 0600).",
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def keys_generate(key_type: str, out: Path, force: bool) -> None:
    """Write a new private key to FILE and print its public JWK (what the authority registers)."""
    from connector.identity.keys import (
        generate_key,
        private_key_pem,
        signing_key,
        write_private_key,
    )

    private_key = generate_key("ec" if key_type == "ec" else "ed25519")
    try:
        write_private_key(out, private_key_pem(private_key), overwrite=force)
    except FileExistsError:
        raise click.ClickException(f"{out} exists; pass --force to replace it") from None
    except OSError as error:
        raise click.ClickException(f"cannot write {out}: {error.strerror}") from None
    click.echo(json.dumps(signing_key(private_key).public_jwk(), indent=2))


@keys.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def keys_show(file: Path) -> None:
    """Print the public JWK of a key file (private or public PEM, or a JWK)."""
    from connector.identity.keys import InvalidKey, read_public_jwk

    try:
        click.echo(json.dumps(read_public_jwk(file), indent=2))
    except InvalidKey as error:
        raise click.ClickException(str(error)) from None
