"""Times: stored in UTC, shown and reasoned about in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The calendar date in China at this moment (plans are dated in local time)."""
    return moment.astimezone(LOCAL_ZONE).date()


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z, the one form used in canonical bodies."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
