"""Readiness checks used by /healthz and load balancers."""

from __future__ import annotations

import os
from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.extensions import db


def check() -> dict[str, Any]:
    report: dict[str, Any] = {"status": "ok", "database": "ok", "photos": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        report.update(status="unavailable", database=f"error: {type(error).__name__}")
    photo_dir = current_app.config["PHOTO_DIR"]
    if not os.access(photo_dir, os.W_OK):
        report.update(status="unavailable", photos="not writable")
    return report
