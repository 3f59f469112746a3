"""The key that signs staff tokens: never the default one, never a short one, off loopback.

Anyone who knows the key mints an admin token, and the default key is written in the source.
With no key configured, the CLI (`threatmap serve`, `threatmap token`) uses a random key kept in
the data folder (`<data_dir>/jwt-secret`, mode 0600), made on first use: `make run` needs no
set-up, and tokens minted locally work against it. The app refuses a weak key (the default, or
one under 32 bytes) unless it listens on loopback only, and then says so in the log.
Replicas behind a load balancer must share one key: set THREATMAP_JWT_SECRET.
"""

import ipaddress
import logging
import os
import secrets
from pathlib import Path

from gateway.settings import DEFAULT_JWT_SECRET, Settings

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
SECRET_FILE = "jwt-secret"


class WeakSecretError(ValueError):
    """The configured key may not be used where the server listens."""


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False   # a host name or 0.0.0.0 / :: (every interface)


def weakness(secret: str) -> str | None:
    """Why a key is weak, or None."""
    if secret == DEFAULT_JWT_SECRET:
        return "is the default key written in gateway/settings.py"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def check_jwt_secret(settings: Settings) -> None:
    """Raises WeakSecretError for a weak key off loopback; warns about one on loopback."""
    why = weakness(settings.jwt_secret)
    if why is None:
        return
    if not is_loopback(settings.host):
        raise WeakSecretError(
            f"THREATMAP_JWT_SECRET {why}: anyone could mint staff tokens. Set it to a random "
            f"key of {MIN_SECRET_BYTES}+ bytes (e.g. `openssl rand -base64 48`), or leave it "
            f"unset to use a random key kept in {settings.data_dir / SECRET_FILE}.")
    log.warning("THREATMAP_JWT_SECRET %s; accepted only because the server listens on loopback "
                "(%s)", why, settings.host)


def local_secret(data_dir: Path) -> str:
    """The key kept in the data folder, made (random, mode 0600) when missing."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{SECRET_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)   # atomic, and never over a key another process just made
            log.info("generated a random token key in %s", path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    secret = path.read_text().strip()
    if weakness(secret):
        raise WeakSecretError(f"{path} holds a weak key: delete it to get a new one")
    return secret


def with_jwt_secret(settings: Settings) -> Settings:
    """The settings with the data folder's key when none is configured."""
    if settings.jwt_secret != DEFAULT_JWT_SECRET:
        return settings
    return settings.model_copy(update={"jwt_secret": local_secret(settings.data_dir)})
