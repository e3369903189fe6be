"""The server address and bearer token, kept owner-only in the data directory.

The password is never stored: it is sent once to get a token, and forgotten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from field_client.errors import FieldError, NotLoggedIn

FILE_NAME = "credentials.json"
# Only inspectors capture and sync inspections; other roles use the web pages.
FIELD_ROLES = ("inspector",)


def require_field_role(username: str, role: str) -> None:
    """Refuse to keep a login of a role the field client is not for (CLI and app alike)."""
    if role not in FIELD_ROLES:
        # The token is not kept (the API has no revocation route; it expires unused).
        raise FieldError(
            f"现场客户端仅供检查员使用，{username} 的角色是 {role}，请使用网页 / "
            f"the field client is for inspectors only; {username} is {role}: use the web pages"
        )


def save(home: Path, data: dict[str, Any]) -> Path:
    path = home / FILE_NAME
    temp = home / f".{FILE_NAME}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temp, 0o600)
    os.replace(temp, path)
    return path


def load(home: Path) -> dict[str, Any]:
    path = home / FILE_NAME
    if not path.is_file():
        raise NotLoggedIn(
            "尚未登录 / not logged in: run `lantian-field login --server URL --user NAME`"
        )
    return json.loads(path.read_text(encoding="utf-8"))
