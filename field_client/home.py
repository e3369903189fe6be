"""Where the field client keeps its data: --home, LANTIAN_FIELD_HOME, or the platform's place."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "lantian-field"


def resolve_home(option: str | None = None) -> Path:
    """The data directory, created with owner-only permissions when new."""
    chosen = option or os.environ.get("LANTIAN_FIELD_HOME") or user_data_dir(APP_NAME, "lantian")
    home = Path(chosen).expanduser()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home
