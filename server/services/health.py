"""Readiness checks used by /healthz and load balancers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.extensions import db
from server.storage import photo_store


def check() -> dict[str, Any]:
    report: dict[str, Any] = {"status": "ok", "database": "ok", "photos": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        report.update(status="unavailable", database=f"error: {type(error).__name__}")
    photos = photo_store().health()  # the directory, or the bucket, is reachable
    if photos != "ok":
        report.update(status="unavailable", photos=photos)
    return report
