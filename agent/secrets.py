"""Reading a secret (password, robot key, app secret) from where the config says it lives.

Secrets are never inline: an environment variable (``*_env``) or a file (``*_file``; a bare name
is looked up in systemd's ``$CREDENTIALS_DIRECTORY``). Every value read is registered for
redaction, so it can appear in no log line or error afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.errors import ConfigError
from agent.logging import register_secret


def resolve_credential_path(text: str) -> Path:
    """``%d/x`` or a relative name means a systemd credential in $CREDENTIALS_DIRECTORY."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if text.startswith("%d/"):
        text = text[3:]
        if creds:
            return Path(creds) / text
    path = Path(text)
    if not path.is_absolute() and creds:
        return Path(creds) / path
    return path


def read_secret(owner: str, env: str | None, file: str | None, *, allow_empty: bool = True) -> str | None:
    """The secret from ``env`` or ``file`` (None when neither is given); ConfigError naming ``owner``."""
    if env:
        value = os.environ.get(env)
        if value is None or (not value and not allow_empty):
            raise ConfigError(f"{owner}: environment variable {env} is not set")
    elif file:
        path = resolve_credential_path(str(file))
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{owner}: cannot read {path}: {exc.strerror}") from None
    else:
        return None
    register_secret(value)
    return value
