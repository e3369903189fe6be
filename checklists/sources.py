"""The plan texts the checklists cite, and the verbatim-quote check."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from checklists.model import Source

SOURCES_DIR = Path(__file__).parent / "sources"

_WHITESPACE = re.compile(r"\s+", re.UNICODE)


def squeeze(text: str) -> str:
    """Drop every whitespace character: the texts were extracted from PDFs with broken lines."""
    return _WHITESPACE.sub("", text)


@cache
def load_sources(directory: Path = SOURCES_DIR) -> dict[str, Source]:
    """All plan documents from `sources.yaml`, keyed by file name."""
    raw = yaml.safe_load((directory / "sources.yaml").read_text(encoding="utf-8"))
    sources: dict[str, Source] = {}
    for entry in raw["sources"]:
        period = entry.get("period") or {}
        sources[entry["file"]] = Source(
            file=entry["file"],
            city=entry["city"],
            city_en=entry["city_en"],
            number=entry["number"],
            date=as_date(entry["date"]),
            title=entry["title"],
            title_en=entry["title_en"],
            city_code=str(entry.get("city_code", "")),
            period_from=as_date(period["from"]) if period.get("from") else None,
            period_to=as_date(period["to"]) if period.get("to") else None,
            supersedes=tuple(entry.get("supersedes") or ()),
            sha256=str(entry.get("sha256", "")),
        )
    return sources


def as_date(value: object) -> date:
    """A YAML date, or an ISO date string, as a date."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@cache
def source_text(file: str, directory: Path = SOURCES_DIR) -> str:
    """The squeezed text of one plan, for quote checks."""
    return squeeze((directory / file).read_text(encoding="utf-8"))


def quote_found(file: str, quote: str, directory: Path = SOURCES_DIR) -> bool:
    """True when `quote` occurs in the plan, ignoring whitespace and line breaks only."""
    needle = squeeze(quote)
    return bool(needle) and needle in source_text(file, directory)


def cities() -> list[str]:
    """The cities that have at least one plan, in the order of sources.yaml."""
    seen: list[str] = []
    for source in load_sources().values():
        if source.city not in seen:
            seen.append(source.city)
    return seen
