"""Today's date in China, with a fixed date for tests (`CLOCK_TODAY` in the config).

Deadlines and overdue findings are days in local time; a controllable clock lets tests
prove overdue logic without waiting for real days to pass.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app

from server.services.timeutil import LOCAL_ZONE


def today() -> date:
    fixed = current_app.config.get("CLOCK_TODAY")
    if fixed:
        return date.fromisoformat(str(fixed))
    return datetime.now(LOCAL_ZONE).date()
