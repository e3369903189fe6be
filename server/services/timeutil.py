"""Times: stored in UTC, shown and reasoned about in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The calendar date in China at this moment (plans are dated in local time)."""
    return moment.astimezone(LOCAL_ZONE).date()


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z, the one form used in canonical bodies."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_day_start(day: date) -> datetime | None:
    """The UTC instant a China calendar day begins; None past either end of datetime's range
    (a filter from 0001-01-01 or to 9999-12-31 then simply has no bound on that side)."""
    try:
        return datetime.combine(day, time(), LOCAL_ZONE).astimezone(UTC)
    except OverflowError:
        return None


def local_day_after(day: date) -> datetime | None:
    """The UTC instant the China calendar day after `day` begins (None past the range)."""
    try:
        return local_day_start(day + timedelta(days=1))
    except OverflowError:
        return None
