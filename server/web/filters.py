"""Jinja filters and globals shared by every page: local times, state labels, plan sources."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_wtf.csrf import generate_csrf

import checklists as rules
from server.services import wording
from server.services.timeutil import LOCAL_ZONE


def local_time(moment: datetime | None) -> str:
    """A stored UTC moment as a Beijing-time minute, as people on site read clocks."""
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M") if moment else ""


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_ZONE).date().isoformat()
    return value.isoformat()


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def tally(total: int, lower_bound: bool = False) -> str:
    """A count as the pages show it: 1,234; "10,000+" when only a lower bound is known."""
    return f"{total:,}{'+' if lower_bound else ''}"


def register_filters(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(day, "day")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(tally, "tally")
    app.add_template_global(wording.answer_text, "answer_text")
    app.add_template_filter(lambda v: wording.label(wording.FINDING_STATUS, v), "finding_status")
    app.add_template_filter(
        lambda v: wording.label(wording.INSPECTION_STATUS, v), "inspection_status"
    )
    app.add_template_filter(lambda v: wording.label(wording.VERDICT, v), "verdict")
    app.add_template_filter(lambda v: wording.label(wording.OBLIGATION, v), "obligation")
    app.add_template_filter(lambda v: wording.label(wording.SEVERITY, v), "severity")
    app.add_template_filter(lambda v: wording.label(wording.TASK_REASON, v), "task_reason")
    app.add_template_filter(lambda v: wording.label(wording.TASK_STATUS, v), "task_status")
    app.add_template_global(rules.load_sources, "plan_sources")
    app.add_template_global(generate_csrf, "csrf_token")
