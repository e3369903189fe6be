"""Every checklist version ever served: inspections pin one and keep it forever."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import JSONType, UTCDateTime, utcnow


class ChecklistVersion(db.Model):
    __tablename__ = "checklist_versions"

    checklist_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    current: Mapped[bool] = mapped_column(default=True, index=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
