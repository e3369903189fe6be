"""Malformed JSON against every JSON endpoint: always a 4xx naming what is wrong, never a 500.

Each case is sent to each endpoint that takes a JSON body, with the caller's right role and
a target that exists (a submitted inspection, a notified and an answered finding), so the
only thing wrong is the body. After every refusal the whole database is compared with a
snapshot taken before: a refused request changes nothing that was stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from tests.helpers import PASSWORD

MEGABYTE = "问" * (1024 * 1024 // 3)  # about 1 MB of UTF-8
DEEP_ARRAY = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: Callable[[dict[str, Any]], str]
    role: str | None  # None: no token (the token endpoint)
    valid: Callable[[dict[str, Any]], dict[str, Any]]
    required: str  # a required field
    string_field: str  # a field that takes text, for the 1 MB string
    number_field: str  # a field that takes a number or a boolean


ENDPOINTS = {
    "put-inspection": Endpoint(
        "PUT",
        lambda w: f"/api/v1/inspections/{w['waiting']}",
        "inspector",
        lambda w: dict(w["inspection_body"]),
        "answers",
        "checklist_id",
        "site_id",
    ),
    "put-new-inspection": Endpoint(
        "PUT",
        lambda w: "/api/v1/inspections/5b0c1a5e-0000-4000-8000-000000000001",
        "inspector",
        lambda w: dict(w["inspection_body"]),
        "started_at",
        "checklist_version",
        "site_id",
    ),
    "review": Endpoint(
        "POST",
        lambda w: f"/api/v1/inspections/{w['waiting']}/review",
        "supervisor",
        lambda w: {"decision": "return", "comment": "补拍照片"},
        "decision",
        "comment",
        "decision",
    ),
    "notice": Endpoint(
        "POST",
        lambda w: "/api/v1/notices",
        "supervisor",
        lambda w: {"enterprise_id": w["enterprise_id"], "finding_ids": [w["open"]]},
        "finding_ids",
        "deadline",
        "enterprise_id",
    ),
    "response": Endpoint(
        "POST",
        lambda w: f"/api/v1/findings/{w['notified']}/responses",
        "enterprise",
        lambda w: {"text": "已整改完毕", "photos": []},
        "text",
        "text",
        "photos",
    ),
    "verify": Endpoint(
        "POST",
        lambda w: f"/api/v1/findings/{w['answered']}/verify",
        "supervisor",
        lambda w: {"accepted": True, "comment": "同意销号"},
        "accepted",
        "comment",
        "accepted",
    ),
    "token": Endpoint(
        "POST",
        lambda w: "/api/v1/auth/token",
        None,
        lambda w: {"username": w["username"], "password": PASSWORD},
        "password",
        "username",
        "password",
    ),
}


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Case:
    """A bad body: bytes to send, the content type, and what the answer must say."""

    body: Callable[[Endpoint, dict[str, Any]], bytes]
    status: int
    names: Callable[[Endpoint], str] = lambda endpoint: "json"  # what `errors` must mention
    content_type: str = "application/json"


def _with(field: str, value: Any) -> Callable[[Endpoint, dict[str, Any]], bytes]:
    def build(endpoint: Endpoint, w: dict[str, Any]) -> bytes:
        body = endpoint.valid(w)
        body[getattr(endpoint, field)] = value
        return _json(body)

    return build


CASES = {
    "syntax-error": Case(lambda e, w: _json(e.valid(w))[:-3], 400),
    "trailing-garbage": Case(lambda e, w: _json(e.valid(w)) + b" }{", 400),
    "single-quotes": Case(lambda e, w: _json(e.valid(w)).replace(b'"', b"'"), 400),
    "not-utf8": Case(lambda e, w: b'{"\xff\xfe": "\xc3\x28"}', 400),
    "nan": Case(lambda e, w: _json(e.valid(w))[:-1] + b', "x": NaN}', 400),
    "infinity": Case(lambda e, w: _json(e.valid(w))[:-1] + b', "x": -Infinity}', 400),
    "huge-integer": Case(lambda e, w: b'{"x": ' + b"9" * 5000 + b"}", 400),
    "deep-array": Case(lambda e, w: DEEP_ARRAY.encode(), 400),
    "deep-object": Case(lambda e, w: DEEP_OBJECT.encode(), 400),
    "array": Case(lambda e, w: _json([e.valid(w)]), 422, lambda e: "_schema"),
    "string": Case(lambda e, w: _json("approve"), 422, lambda e: "_schema"),
    "null": Case(lambda e, w: b"null", 422, lambda e: "_schema"),
    "number": Case(lambda e, w: b"42", 422, lambda e: "_schema"),
    "empty-object": Case(lambda e, w: b"{}", 422, lambda e: e.required),
    "wrong-type-string-field": Case(
        _with("string_field", {"nested": ["object"]}), 422, lambda e: e.string_field
    ),
    "wrong-type-number-field": Case(
        _with("number_field", ["一二三"]), 422, lambda e: e.number_field
    ),
    "out-of-range-integer": Case(_with("number_field", 2**64), 422, lambda e: e.number_field),
    "huge-string": Case(_with("string_field", MEGABYTE), 422, lambda e: e.string_field),
    # PostgreSQL text cannot hold NUL: refused before it reaches the database.
    "nul-in-string": Case(_with("string_field", "整改\u0000完毕"), 400, lambda e: e.string_field),
    # A lone surrogate (JSON allows "\\ud800") cannot be encoded as UTF-8 for any database.
    "lone-surrogate": Case(
        lambda e, w: json.dumps({**e.valid(w), e.string_field: "整改\ud800完毕"}).encode(),
        400,
        lambda e: e.string_field,
    ),
    "lone-surrogate-in-key": Case(
        lambda e, w: json.dumps({**e.valid(w), "a\udfffb": 1}).encode(), 400, lambda e: "surrogate"
    ),
    "nul-in-key": Case(lambda e, w: _json({**e.valid(w), "a\u0000b": 1}), 400, lambda e: "NUL"),
    "unknown-field": Case(
        lambda e, w: _json({**e.valid(w), "is_admin": True}), 422, lambda e: "is_admin"
    ),
    "text-plain": Case(lambda e, w: _json(e.valid(w)), 415, content_type="text/plain"),
    "form-encoded": Case(
        lambda e, w: b"decision=approve&accepted=true",
        415,
        content_type="application/x-www-form-urlencoded",
    ),
    "no-content-type": Case(lambda e, w: _json(e.valid(w)), 415, content_type=""),
}


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, to prove a refused request changed nothing."""
    db.session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
        for table in db.metadata.sorted_tables
    }


@pytest.mark.parametrize("endpoint_name", list(ENDPOINTS))
def test_malformed_json_is_a_4xx_and_changes_nothing(
    client: FlaskClient,
    world: dict[str, Any],
    subtests: pytest.Subtests,
    endpoint_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every case against one endpoint, each reported on its own (one world to build)."""
    endpoint = ENDPOINTS[endpoint_name]
    # Every login request is charged before it is read, malformed ones too: room for all
    # the cases (a new limit is a new counter), so each is answered for what it is.
    monkeypatch.setitem(client.application.config, "LOGIN_RATE_LIMIT", "1000 per minute")
    before = snapshot()
    for case_name, case in CASES.items():
        with subtests.test(case=case_name):
            headers = dict(world["headers"][endpoint.role]) if endpoint.role else {}
            if case.content_type:
                headers["Content-Type"] = case.content_type
            response = client.open(
                endpoint.path(world),
                method=endpoint.method,
                data=case.body(endpoint, world),
                headers=headers,
            )
            body = response.get_json(silent=True)
            assert response.status_code == case.status, (response.status_code, body)
            assert response.mimetype == "application/json"
            assert body["code"] == case.status and body["message"], body
            assert case.names(endpoint) in json.dumps(body["errors"], ensure_ascii=False), body
            assert snapshot() == before
    # The server still serves, and a valid body still works after all that.
    headers = world["headers"][endpoint.role] if endpoint.role else {}
    valid = client.open(
        endpoint.path(world), method=endpoint.method, json=endpoint.valid(world), headers=headers
    )
    assert valid.status_code in (200, 201), valid.get_json()


def test_every_api_blueprint_reads_json_strictly() -> None:
    """A blueprint made from flask-smorest's own class would skip the strict reader."""
    from server.api import BLUEPRINTS
    from server.api.blueprint import Blueprint

    assert all(isinstance(blueprint, Blueprint) for blueprint in BLUEPRINTS)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/findings?city=%00",
        "/api/v1/ledger.xlsx?checklist=coal%00",
        "/api/v1/sites/by-qr/abc%00def",
        "/api/v1/notices/by-token/%00",
    ],
)
def test_nul_in_a_url_is_400(client: FlaskClient, headers, url: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(url, headers=headers["supervisor"])
    assert response.status_code == 400, response.get_json()
    assert "NUL" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        ("supervisor", "/api/v1/findings?page=99999999999999999999", 422),
        ("supervisor", "/api/v1/enterprises?page=1000001", 422),
        ("supervisor", "/api/v1/findings?enterprise_id=2147483648", 422),
        ("supervisor", "/api/v1/findings/2147483648", 404),
        ("supervisor", "/api/v1/notices/99999999999999999999/pdf", 404),
        ("inspector", "/api/v1/sites?since=99999999999999999999", 400),
        ("inspector", "/api/v1/inspections/outcomes?since=-1", 400),
    ],
)
def test_numbers_past_the_database_range_are_4xx(  # type: ignore[no-untyped-def]
    client: FlaskClient, headers, role: str, url: str, status: int
) -> None:
    """Ids are PostgreSQL integers and offsets bigints: larger numbers never reach a query."""
    response = client.get(url, headers=headers[role])
    assert response.status_code == status, response.get_json()
    assert response.get_json()["message"]
