"""Per-sandbox passwords, generated once and kept in the state directory (mode 0600)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Credentials:
    """Every password of one sandbox; never printed, never journaled."""

    postgres: str
    replication: str
    shop: str
    redis: str
    patroni_api: str
    broker: str
    broker_link: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls(**{f.name: secrets.token_urlsafe(24) for f in fields(cls)})


def load_or_create(path: Path) -> Credentials:
    """Read the sandbox's credentials, creating them on first use."""
    if path.exists():
        stored = json.loads(path.read_text())
        names = {f.name for f in fields(Credentials)}
        if names <= stored.keys():
            return Credentials(**{name: stored[name] for name in names})
        # Written by an older release: keep its passwords, add the new ones.
        kept = {name: stored[name] for name in names & stored.keys()}
        creds = Credentials(**(asdict(Credentials.generate()) | kept))
    else:
        creds = Credentials.generate()
    write_private(path, json.dumps(asdict(creds), indent=2))
    return creds


def write_private(path: Path, text: str, owner: str | None = None) -> None:
    """Write `text` to a file only its owner can read, created with mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)
    if owner:
        chown(path, owner)


def chown(path: Path, owner: str) -> None:
    """Give `path` to the system user `owner` (and its primary group)."""
    import pwd

    entry = pwd.getpwnam(owner)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def private_dir(path: Path, owner: str | None = None) -> Path:
    """Create `path` as a 0700 directory owned by `owner`."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    if owner:
        chown(path, owner)
    return path
