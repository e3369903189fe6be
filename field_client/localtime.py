"""Times as the inspector reads them: stored in UTC, shown in China time (Asia/Shanghai),
whatever the device's TZ says, as the README promises."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def shown(stamp: str | None) -> str:
    """An ISO time (UTC `Z` or with an offset) as `YYYY-MM-DD HH:MM` China time; `-` if none."""
    if not stamp:
        return "-"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp  # not ours to judge: show it as it came
    if moment.tzinfo is None:
        return stamp
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")
