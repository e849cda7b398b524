"""A small dataspace on one machine, set up the way operators do it, with the ``etds`` command:
keys (``etds keys generate``), an authority (``etds authority serve``), participants registered
with their public keys and attributes (``etds authority register``), and nodes whose
``[identity]`` section trusts the authority. Used by the demo; everything listens on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from etds_examples.authorityproc import write_authority_config
from etds_examples.nodeproc import free_port


@dataclass(frozen=True)
class Member:
    """A participant of the dataspace: id, organisation, attributes the authority vouches for."""

    participant_id: str
    name: str
    org_type: str
    nuts: tuple[str, ...] = ()
    country: str = "FR"


@dataclass
class LocalDataspace:
    root: Path
    authority_port: int = field(default_factory=free_port)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.authority_port}"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    def key_file(self, participant_id: str) -> Path:
        return self.keys / (participant_id.replace(":", "_").replace("/", "_") + ".pem")

    def etds(self, *arguments: str) -> str:
        """Run ``etds <arguments>`` (this interpreter's) and return what it printed."""
        completed = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "connector", *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"etds {' '.join(arguments)} failed:\n{completed.stderr}")
        return completed.stdout

    def authority_config(self) -> Path:
        """Keys and settings of the authority (created once)."""
        self.keys.mkdir(parents=True, exist_ok=True)
        signing_key = self.keys / "authority.pem"
        if not signing_key.exists():
            self.etds("keys", "generate", "--type", "ed25519", "--out", str(signing_key))
        return write_authority_config(
            self.root / "authority.toml",
            port=self.authority_port,
            database_url=f"sqlite:///{self.root / 'authority.db'}",
            signing_keys=[signing_key],
        )

    def register(self, config: Path, member: Member) -> bool:
        """A key for ``member`` and its registration at the authority; False when it was
        registered already (a second run of the demo)."""
        key = self.key_file(member.participant_id)
        if not key.exists():
            self.etds("keys", "generate", "--out", str(key))
        registered = self.etds("authority", "list", "--config", str(config))
        if member.participant_id in registered:
            return False
        arguments = [
            "authority", "register", "--config", str(config),
            "--id", member.participant_id, "--name", member.name, "--key-file", str(key),
            "--org-type", member.org_type, "--country", member.country,
        ]  # fmt: skip
        for region in member.nuts:
            arguments += ["--nuts", region]
        self.etds(*arguments)
        return True

    def node_settings(
        self,
        member: Member,
        *,
        port: int,
        api_key: str,
        data_root: Path,
        extra: str = "",
    ) -> Path:
        """The settings file of ``member``'s node (development profile, loopback only)."""
        name = member.participant_id.rsplit(":", 1)[-1]
        path = self.root / f"{name}.toml"
        path.write_text(
            f"""# {member.name}: development profile, everything on 127.0.0.1
profile = "development"

[node]
participant_id = "{member.participant_id}"
name = "{member.name}"
public_url = "http://127.0.0.1:{port}"

[database]
url = "sqlite:///{self.root / f"{name}.db"}"

[management]
api_keys = ["{api_key}"]

[storage]
data_roots = ["{data_root}"]

[identity]
authority = "{self.issuer}"
client_key_file = "{self.key_file(member.participant_id)}"

[[identity.trusted_issuers]]
issuer = "{self.issuer}"

[logging]
format = "json"
{extra}"""
        )
        return path
