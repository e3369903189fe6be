"""The findings list counts its matches only up to a cap (`FINDINGS_COUNT_CAP`).

Below the cap `X-Pagination` is flask-smorest's own header with the exact total; past it the
total is the cap with `total_is_lower_bound`, no last page, and `next_page` only when a
further page holds findings. Six findings (three inspections failing CB-10 and CB-18) and
a small cap stand in for the millions and the default 10,000.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from server.config import DEFAULT_FINDINGS_COUNT_CAP, load_config
from server.extensions import db
from tests.helpers import submit_failing_inspection

LIST = "/api/v1/findings"


@pytest.fixture
def six_findings(client: FlaskClient, headers, registry) -> list[int]:  # type: ignore[no-untyped-def]
    """The ids of six findings in Shuozhou, all the inspector's, in id order."""
    ids: list[int] = []
    for _ in range(3):
        _, found = submit_failing_inspection(client, headers, registry["sites"]["SZ-boiler_house"])
        ids += [finding["id"] for finding in found.values()]
    return sorted(ids)


@pytest.fixture
def cap(app: Flask, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Set the count cap for this test (the session's app keeps its own afterwards)."""

    def set_cap(value: int) -> None:
        monkeypatch.setitem(app.config, "FINDINGS_COUNT_CAP", value)

    return set_cap


def listed(
    client: FlaskClient, headers: dict[str, str], query: str
) -> tuple[dict[str, Any], list[int]]:
    """The X-Pagination header and the finding ids of one page of the list."""
    response = client.get(f"{LIST}?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return json.loads(response.headers["X-Pagination"]), [f["id"] for f in response.get_json()]


def test_at_the_cap_the_total_is_exact_and_the_header_unchanged(
    client: FlaskClient, headers, six_findings: list[int], cap
) -> None:  # type: ignore[no-untyped-def]
    cap(6)  # exactly as many matches as the cap: still an exact count
    supervisor = headers["supervisor"]
    exact = {"total": 6, "total_pages": 3, "first_page": 1, "last_page": 3}
    assert listed(client, supervisor, "page=1&page_size=2") == (
        {**exact, "page": 1, "next_page": 2},
        six_findings[0:2],
    )
    assert listed(client, supervisor, "page=2&page_size=2") == (
        {**exact, "page": 2, "previous_page": 1, "next_page": 3},
        six_findings[2:4],
    )
    assert listed(client, supervisor, "page=3&page_size=2") == (
        {**exact, "page": 3, "previous_page": 2},
        six_findings[4:6],
    )
    assert listed(client, supervisor, "page=4&page_size=2") == (exact, [])
    assert listed(client, supervisor, "city=长治") == ({"total": 0, "total_pages": 0}, [])
    assert listed(client, headers["inspector2"], "") == ({"total": 0, "total_pages": 0}, [])


def test_past_the_cap_the_total_is_a_lower_bound_and_pages_go_on(
    client: FlaskClient, headers, six_findings: list[int], cap
) -> None:  # type: ignore[no-untyped-def]
    cap(3)
    supervisor = headers["supervisor"]
    bound = {"total": 3, "total_is_lower_bound": True, "first_page": 1}
    assert listed(client, supervisor, "page=1&page_size=2") == (
        {**bound, "page": 1, "next_page": 2},
        six_findings[0:2],
    )
    # Pages reaching past the cap still work, by offset.
    assert listed(client, supervisor, "page=2&page_size=2") == (
        {**bound, "page": 2, "previous_page": 1, "next_page": 3},
        six_findings[2:4],
    )
    # The last page that holds findings has no next page, though its number is not known.
    assert listed(client, supervisor, "page=3&page_size=2") == (
        {**bound, "page": 3, "previous_page": 2},
        six_findings[4:6],
    )
    assert listed(client, supervisor, "page=4&page_size=2") == (bound, [])
    # A last page that is full: one more row than the page is what tells.
    assert listed(client, supervisor, "page=2&page_size=3") == (
        {**bound, "page": 2, "previous_page": 1},
        six_findings[3:6],
    )
    # One match over the cap is enough for a lower bound.
    cap(5)
    assert listed(client, supervisor, "page_size=10") == (
        {"total": 5, "total_is_lower_bound": True, "first_page": 1, "page": 1},
        six_findings,
    )
    # The inspector's list (scoped through a join to their inspections) is capped the same.
    cap(3)
    assert listed(client, headers["inspector"], "page=3&page_size=2") == (
        {**bound, "page": 3, "previous_page": 2},
        six_findings[4:6],
    )


def test_the_count_reads_at_most_the_cap_and_one_more(
    app: Flask, client: FlaskClient, headers, six_findings: list[int], cap
) -> None:  # type: ignore[no-untyped-def]
    """What makes the list's time stop growing with the matches: the count is limited."""
    cap(4)
    statements: list[tuple[str, Any]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        listed(client, headers["supervisor"], "city=朔州")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    counts = [(sql, params) for sql, params in statements if "count(" in sql.lower()]
    assert len(counts) == 1, statements
    sql, params = counts[0]
    values = params.values() if isinstance(params, dict) else params
    assert "LIMIT" in sql.upper() and 5 in list(values)


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, kind, name = node["$ref"].removeprefix("#/").split("/")
        node = spec[section][kind][name]
    return node


def test_the_header_keeps_to_the_documented_schema(
    client: FlaskClient, headers, six_findings: list[int], cap
) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {
        path: _resolve(
            spec, spec["paths"][path]["get"]["responses"]["200"]["headers"]["X-Pagination"]
        )
        for path in (LIST, "/api/v1/enterprises")
    }
    assert documented[LIST] == documented["/api/v1/enterprises"]
    schema = _resolve(spec, documented[LIST]["schema"])
    properties = schema["properties"]
    assert properties["total_is_lower_bound"]["type"] == "boolean"
    assert schema.get("additionalProperties") is False  # so the check below means something
    types = {"integer": int, "boolean": bool}
    for value in (3, DEFAULT_FINDINGS_COUNT_CAP):
        cap(value)
        for page in (1, 3, 4):
            sent, _ = listed(client, headers["supervisor"], f"page={page}&page_size=2")
            assert set(sent) <= set(properties), sent
            for key, field in sent.items():
                assert type(field) is types[properties[key]["type"]], (key, field)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("LANTIAN_FINDINGS_COUNT_CAP", raising=False)
    yield monkeypatch


def test_the_cap_is_ten_thousand_unless_configured(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    assert DEFAULT_FINDINGS_COUNT_CAP == 10_000
    assert load_config(str(tmp_path))["FINDINGS_COUNT_CAP"] == 10_000
    clean_env.setenv("LANTIAN_FINDINGS_COUNT_CAP", "25000")
    assert load_config(str(tmp_path))["FINDINGS_COUNT_CAP"] == 25_000
    clean_env.setenv("LANTIAN_FINDINGS_COUNT_CAP", "0")
    with pytest.raises(ValueError, match="at least 1"):
        load_config(str(tmp_path))
