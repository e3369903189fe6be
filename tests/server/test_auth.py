"""Accounts and tokens: 401 without a valid token, 403 for the wrong role."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.security import check_password_hash

from server.extensions import db
from server.models import ApiToken, User, utcnow
from server.services import accounts
from tests.helpers import PASSWORD, login


def test_token_for_right_password(client: FlaskClient, users: dict[str, User]) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "insp", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["role"] == "inspector" and len(body["token"]) > 30
    assert body["expires_at"].endswith("+00:00")
    assert body["user"]["username"] == "insp"
    # Only a hash of the token is stored.
    stored = db.session.scalars(db.select(ApiToken.token_hash)).all()
    assert body["token"] not in stored and len(stored) == 1


def test_wrong_password_and_unknown_user_are_401(client: FlaskClient, users) -> None:
    for username, password in (("insp", "wrong-password"), ("nobody", PASSWORD)):
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 401
        assert "wrong username or password" in response.get_json()["message"]


def test_token_request_validation_is_422(client: FlaskClient, users) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "insp"})
    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]["json"]


def test_every_endpoint_needs_a_bearer_token(client: FlaskClient, users) -> None:
    for path in (
        "/api/v1/checklists",
        "/api/v1/sites",
        "/api/v1/enterprises",
        f"/api/v1/photos/{'a' * 64}",
    ):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["code"] == 401
    bad = client.get("/api/v1/checklists", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    basic = client.get("/api/v1/checklists", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401


def test_expired_and_revoked_tokens_are_refused(app: Flask, client: FlaskClient, users) -> None:
    """Expiry and a revocation by this process end a token at once, though it was just
    checked and is trusted for TOKEN_CACHE_S."""
    token, _, expires_at = accounts.issue_token("insp", PASSWORD, timedelta(seconds=1))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/checklists", headers=headers).status_code == 200
    time.sleep(max(0.0, (expires_at - utcnow()).total_seconds()) + 0.05)
    response = client.get("/api/v1/checklists", headers=headers)
    assert response.status_code == 401 and "expired" in response.get_json()["message"]

    headers = login(client, "insp")
    assert client.get("/api/v1/checklists", headers=headers).status_code == 200
    assert accounts.revoke_tokens("insp") == 1
    assert client.get("/api/v1/checklists", headers=headers).status_code == 401


def test_a_logout_ends_the_token_at_once(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    """The web logout revokes one token (`revoke_token`): checked a moment ago, refused now."""
    token, _, _ = accounts.issue_token("insp", PASSWORD, timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/checklists", headers=headers).status_code == 200
    accounts.revoke_token(token)
    assert client.get("/api/v1/checklists", headers=headers).status_code == 401


def test_a_revocation_during_a_check_is_not_forgotten(app: Flask, client: FlaskClient, users):  # type: ignore[no-untyped-def]
    """A request reads the token while it is still valid; before it can trust it, the token
    is revoked (a logout in another thread, committed between the read and the store). The
    answer it read must not be kept, or the revoked token would be trusted for seconds."""
    token, _, _ = accounts.issue_token("insp", PASSWORD, timedelta(hours=1))
    fired = threading.Event()

    def revoke_in_another_thread() -> None:
        with app.app_context():
            accounts.revoke_token(token)
            db.session.remove()

    def after_token_read(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "api_tokens" in statement and not fired.is_set():
            fired.set()
            other = threading.Thread(target=revoke_in_another_thread)
            other.start()
            other.join()

    headers = {"Authorization": f"Bearer {token}"}
    event.listen(db.engine, "after_cursor_execute", after_token_read)
    try:
        assert client.get("/api/v1/checklists", headers=headers).status_code == 200
    finally:
        event.remove(db.engine, "after_cursor_execute", after_token_read)
    assert fired.is_set()
    assert client.get("/api/v1/checklists", headers=headers).status_code == 401


def _revoke_elsewhere() -> None:
    """What `lantian-server users revoke` does from another process: the rows change, and
    this process is not told."""
    for token in db.session.scalars(db.select(ApiToken)):
        token.revoked_at = utcnow()
    db.session.commit()


def _trust_tokens_for(app: Flask, monkeypatch, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """LANTIAN_TOKEN_CACHE_S for this test: a new cache is built from the setting, and the
    app's own comes back afterwards."""
    monkeypatch.setitem(app.config, "TOKEN_CACHE_S", seconds)
    monkeypatch.setitem(app.extensions, accounts.TOKENS_CHECKED, None)


@pytest.mark.parametrize("seconds", [60, 0])
def test_a_revocation_elsewhere_ends_a_token_once_the_cache_time_passes(
    app: Flask, client: FlaskClient, users, monkeypatch, seconds: float
) -> None:  # type: ignore[no-untyped-def]
    """With a cache time, only once it has passed; with 0, on the very next request."""
    _trust_tokens_for(app, monkeypatch, seconds)
    headers = login(client, "insp")
    assert client.get("/api/v1/checklists", headers=headers).status_code == 200
    _revoke_elsewhere()
    if seconds:
        # Within the cache time this process still trusts the token it checked...
        assert client.get("/api/v1/checklists", headers=headers).status_code == 200
        # ...and once that time has passed (the cache's own clock moved on), reads it again.
        app.extensions[accounts.TOKENS_CHECKED].entries.expire(time.monotonic() + seconds + 1)
    response = client.get("/api/v1/checklists", headers=headers)
    assert response.status_code == 401 and "invalid token" in response.get_json()["message"]


def test_a_trusted_token_gives_the_user_as_stored(
    client: FlaskClient, headers: dict[str, dict[str, str]], approved, request
) -> None:  # type: ignore[no-untyped-def]
    """The first request reads each token; the next ones take the user from this process's
    cache without a query. Whatever the views decide from the user must not change."""
    inspection = f"/api/v1/inspections/{approved['inspection']}"
    answers = []
    token_reads: list[str] = []

    def count_token_reads(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "api_tokens" in statement:
            token_reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_token_reads)
    request.addfinalizer(
        lambda: event.remove(db.engine, "before_cursor_execute", count_token_reads)
    )
    for attempt in range(3):
        if attempt == 1:  # every token was read once; from now on each is trusted
            token_reads.clear()
        own = client.get(inspection, headers=headers["inspector"])
        assert own.status_code == 200
        assert client.get(inspection, headers=headers["inspector2"]).status_code == 404
        assert client.get(inspection, headers=headers["enterprise"]).status_code == 403
        listed = client.get("/api/v1/findings", headers=headers["supervisor"])
        assert listed.status_code == 200 and len(listed.get_json()) == 2
        answers.append((own.get_json(), listed.get_json()))
    assert answers[0] == answers[1] == answers[2]
    assert token_reads == []


def test_wrong_role_is_403(client: FlaskClient, headers: dict[str, dict[str, str]]) -> None:
    assert client.get("/api/v1/enterprises", headers=headers["inspector"]).status_code == 403
    assert client.get("/api/v1/sites", headers=headers["enterprise"]).status_code == 403
    body = client.get("/api/v1/enterprises", headers=headers["enterprise"]).get_json()
    assert body["code"] == 403 and "supervisor" in body["message"]


def test_passwords_are_hashed_with_a_kdf(app: Flask) -> None:
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    try:
        user = accounts.add_user("kdf-user", "inspector", "a-long-password")
    finally:
        app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1000"
    assert user.password_hash.startswith("scrypt:")
    assert "a-long-password" not in user.password_hash
    assert check_password_hash(user.password_hash, "a-long-password")


def test_user_rules(app: Flask, users) -> None:
    import pytest

    from server.services.errors import Invalid

    with pytest.raises(Invalid) as caught:
        accounts.add_user("ent3", "enterprise", PASSWORD)
    assert "enterprise" in caught.value.errors
    with pytest.raises(Invalid) as caught:
        accounts.add_user("insp", "inspector", PASSWORD)
    assert "username" in caught.value.errors
    with pytest.raises(Invalid) as caught:
        accounts.add_user("short", "inspector", "x")
    assert "password" in caught.value.errors
    with pytest.raises(Invalid) as caught:
        accounts.add_user("weird", "janitor", PASSWORD)
    assert "role" in caught.value.errors
