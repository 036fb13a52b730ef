"""Running hookbins and who may use their control API: instance files, credentials, loopback names.

Each `hookbin serve` with a control API makes a random credential and writes an instance
file, `PID-ADMINPORT.json` in the user's runtime directory (`hookbin.config.runtime_dir`),
0600 in a 0700 directory: its pid, catcher and control-API URLs, database and credential.
The control API answers only requests carrying that credential (`Authorization: Bearer …`),
so another local user, or a web page in a local browser, cannot read captures or change the
answer. `hookbin respond` reads the files to find running hookbins and their credentials by
itself. A file is removed when its hookbin stops; one left by a hookbin that was killed names
a pid that no longer runs and is ignored (and removed by the next reader).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hookbin.config import runtime_dir
from hookbin.private import private_dir, write_private

SCHEME = "Bearer"
"""The `Authorization` scheme the control API takes its credential in."""
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""The only host names the control API answers to (with its own port)."""


class AdminAddressError(ValueError):
    """An `--admin` address that is not HOST:PORT or a URL."""


@dataclass(frozen=True)
class Instance:
    """What a running hookbin says about itself in its instance file."""

    pid: int
    url: str
    """The catcher, e.g. http://127.0.0.1:8080."""
    admin_url: str
    """The control API, always on 127.0.0.1."""
    db: str
    """The database it stores in (`:memory:` for none)."""
    credential: str
    """What the control API requires in `Authorization: Bearer …`."""

    @property
    def admin_port(self) -> int:
        return urlsplit(self.admin_url).port or 0

    def authorization(self) -> str:
        """The `Authorization` header value for this instance's control API."""
        return f"{SCHEME} {self.credential}"


def new_credential() -> str:
    """A fresh random credential (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def instance_file(instance: Instance, directory: Path | None = None) -> Path:
    """Where `instance` is registered."""
    return (directory or runtime_dir()) / f"{instance.pid}-{instance.admin_port}.json"


def register(instance: Instance, directory: Path | None = None) -> Path:
    """Write `instance`'s file (0600, in a 0700 directory); returns its path.

    Raises:
        OSError: the directory or the file cannot be written.
    """
    path = instance_file(instance, private_dir(directory or runtime_dir()))
    write_private(path, json.dumps(asdict(instance)).encode("ascii"))
    return path


def unregister(path: Path) -> None:
    """Remove an instance file (a missing one is fine)."""
    try:
        path.unlink()
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has the pid now; not a hookbin of ours
        return False
    except OSError:
        return True
    return True


def _read(path: Path) -> Instance | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        instance = Instance(**{name: data[name] for name in ("pid", "url", "admin_url", "db", "credential")})
    except (KeyError, TypeError):
        return None
    fields_ok = isinstance(instance.pid, int) and all(
        isinstance(value, str) for value in (instance.url, instance.admin_url, instance.db, instance.credential)
    )
    return instance if fields_ok else None


def running(directory: Path | None = None) -> list[Instance]:
    """The hookbins running now, by control-API port. Files of stopped ones are removed."""
    directory = directory or runtime_dir()
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError:
        return []
    found = []
    for path in paths:
        instance = _read(path)
        if instance is None:
            continue
        if not _alive(instance.pid):
            unregister(path)
            continue
        found.append(instance)
    return sorted(found, key=lambda instance: instance.admin_port)


def admin_base(address: str) -> str:
    """An `--admin` address as a base URL: `http://HOST:PORT`, `HOST:PORT`, or a bare PORT.

    Raises:
        AdminAddressError: it names no port.
    """
    text = address.strip()
    if text.isdigit():
        text = f"127.0.0.1:{text}"
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise AdminAddressError(
            f"--admin {address!r} is not an address such as 127.0.0.1:8081 or http://127.0.0.1:8081"
        )
    return text.rstrip("/")


def serving_at(base: str, instances: list[Instance]) -> Instance | None:
    """The running instance whose control API is at `base` (a loopback name with its port)."""
    parts = urlsplit(base)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    if host not in LOOPBACK_NAMES:
        return None
    return next((instance for instance in instances if instance.admin_port == parts.port), None)


def is_loopback_host(header: str, port: int) -> bool:
    """Whether a `Host` header names this machine exactly: 127.0.0.1, localhost or [::1], with `port`.

    Anything else (another name that resolves here, a missing or different port, a trailing
    dot) is refused: a page a DNS-rebinding attack points at 127.0.0.1 still sends its own name.
    """
    name, colon, given = header.lower().rpartition(":")
    return bool(colon) and name in LOOPBACK_NAMES and given == str(port)
