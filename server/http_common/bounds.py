"""Bounds on numbers taken from a request, shared by the API and the pages.

A number past what the database can hold must be the client's error (4xx), never a
database error (500): ids are PostgreSQL `integer`s, and a page's OFFSET a `bigint`.
"""

from __future__ import annotations

MAX_PAGE = 1_000_000  # far past any table; keeps OFFSET inside a bigint
MAX_ROW_ID = 2**31 - 1  # ids are PostgreSQL `integer`s


def row_id(text: str | None) -> int | None:
    """A form or query value as a row id; None when it is not one (empty, not a number,
    or past what an `integer` column holds)."""
    if not text or not text.isdigit() or len(text) > len(str(MAX_ROW_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None
