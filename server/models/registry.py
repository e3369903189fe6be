"""Enterprises and their sites: who is inspected, and where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import UTCDateTime, utcnow


class Enterprise(db.Model):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    city: Mapped[str] = mapped_column(String(40), index=True)
    # GB/T 2260 code of the city whose plans govern the enterprise (朔州 140600).
    city_code: Mapped[str] = mapped_column(String(6), default="", server_default="")
    district: Mapped[str] = mapped_column(String(60), default="")
    industry: Mapped[str] = mapped_column(String(100), default="")
    contact_name: Mapped[str] = mapped_column(String(60), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="enterprise", order_by="Site.id")


class Site(db.Model):
    """A place of an enterprise that inspectors visit; `change_seq` feeds the sync cursor."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    # The city whose plans govern this place (GB/T 2260), and its own district's code.
    city_code: Mapped[str] = mapped_column(String(6), default="", server_default="")
    district_code: Mapped[str] = mapped_column(String(12), default="", server_default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float, default=300.0)
    qr_token: Mapped[str] = mapped_column(String(43), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    change_seq: Mapped[int] = mapped_column(Integer, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship(back_populates="sites")


class ChangeCounter(db.Model):
    """A named, monotonically increasing counter, incremented under a row lock.

    Taking the lock serialises writers of one feed, so change numbers are committed in
    order and a client's cursor can never skip a change committed late.
    """

    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
