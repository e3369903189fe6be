"""Every error body carries a stable machine code from the one table, `ErrorCode`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from server.services import errors as error_module
from server.services.errors import DomainError, ErrorCode, Invalid
from tests.helpers import PHOTO, approve, sha256

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _domain_error_names() -> set[str]:
    """Names of every DomainError subclass, wherever it is defined in the server."""
    names = {DomainError.__name__}
    for tree in _server_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id in names for base in node.bases
            ):
                names.add(node.name)
    for _ in range(3):  # subclasses of subclasses, in any file order
        for tree in _server_trees():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(base, ast.Name) and base.id in names for base in node.bases
                ):
                    names.add(node.name)
    return names


def _server_trees() -> list[ast.Module]:
    return [ast.parse(path.read_text()) for path in sorted((ROOT / "server").rglob("*.py"))]


# Subclasses that fix their own code in their constructor (their call sites pass none).
FIXED_CODE = {
    "OffsetConflict",
    "TusVersionMismatch",
    "BackupError",
    "TooManyUnfinished",
    "DecoderBusy",
}


def test_every_raise_site_names_a_code_from_the_table() -> None:
    """A domain error built anywhere in the server names `ErrorCode.<member>` first (or
    passes on `code`, a parameter its own callers fill from the table)."""
    names = _domain_error_names() - FIXED_CODE
    lacking = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in names or node.func.id == "DomainError":
                continue
            first = node.args[0] if node.args else None
            named = (isinstance(first, ast.Name) and first.id == "code") or (
                isinstance(first, ast.Attribute)
                and isinstance(first.value, ast.Name)
                and first.value.id == "ErrorCode"
                and first.attr in ErrorCode.__members__
            )
            if not named:
                lacking.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}")
    assert not lacking, lacking


def test_a_domain_error_without_a_code_is_refused() -> None:
    with pytest.raises(TypeError):
        Invalid("内容有误 / invalid")  # type: ignore[arg-type]


def test_codes_are_unique_dotted_and_documented_in_the_readme() -> None:
    values = [code.value for code in ErrorCode]
    assert len(values) == len(set(values))
    assert all(value.count(".") == 1 and value == value.lower() for value in values)
    readme = README.read_text()
    undocumented = [value for value in values if f"`{value}`" not in readme]
    assert not undocumented, undocumented


def test_generic_codes_cover_the_statuses_werkzeug_raises() -> None:
    for status in (400, 401, 403, 404, 405, 412, 413, 415, 422, 428, 429, 500):
        assert error_module.generic_code(status) in ErrorCode


def test_the_openapi_spec_documents_the_code_table(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    error_schema = next(s for s in schemas.values() if "error" in s.get("properties", {}))
    assert set(error_schema["properties"]) >= {"code", "status", "error", "message", "errors"}
    assert error_schema["properties"]["error"]["enum"] == [code.value for code in ErrorCode]


def test_bodies_carry_domain_and_generic_codes(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    approve(client, headers, approved["inspection"])
    again = client.post(
        f"/api/v1/inspections/{approved['inspection']}/review",
        json={"decision": "approve"},
        headers=headers["supervisor"],
    )
    assert again.status_code == 409
    assert again.get_json()["error"] == "inspection.not_reviewable"
    assert again.get_json()["code"] == 409  # flask-smorest's key keeps its meaning

    finding = approved["findings"]["CB-10"]["id"]
    early = client.post(
        f"/api/v1/findings/{finding}/responses",
        json={"text": "已整改", "photos": [sha256(PHOTO)]},
        headers=headers["enterprise"],
    )
    assert early.status_code == 404  # not notified: the enterprise does not see it yet
    assert early.get_json()["error"] == "finding.not_found"

    wrong = client.put(f"/api/v1/photos/{'0' * 64}", data=PHOTO, headers=headers["inspector"])
    assert wrong.status_code == 400
    assert wrong.get_json()["error"] == "photo.hash_mismatch"

    route = client.get("/api/v1/no-such-thing", headers=headers["inspector"])
    assert route.status_code == 404 and route.get_json()["error"] == "request.not_found"
    schema = client.post("/api/v1/notices", json={"x": 1}, headers=headers["supervisor"])
    assert schema.status_code == 422 and schema.get_json()["error"] == "request.invalid"
    anonymous = client.get("/api/v1/findings")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "auth.required"
