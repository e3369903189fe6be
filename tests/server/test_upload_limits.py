"""Unfinished tus uploads: capped per user, and expired after a configurable age by
`lantian-server uploads expire` and on start-up (issue 16 item 9)."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import update

from server import create_app
from server.cli import main
from server.extensions import db
from server.models import Upload, utcnow
from server.storage import photo_store
from tests.server.test_uploads import PHOTO, TUS, create, patch


def fake(n: int) -> bytes:
    return f"photo number {n}".encode() * 10


def test_unfinished_uploads_are_capped_per_user(client, headers, app: Flask) -> None:
    default = app.config["MAX_UNFINISHED_UPLOADS"]
    app.config["MAX_UNFINISHED_UPLOADS"] = 3
    try:
        made = [create(client, headers["inspector"], fake(n)) for n in range(3)]
        assert [r.status_code for r in made] == [201, 201, 201]
        refused = create(client, headers["inspector"], fake(3))
        assert refused.status_code == 429
        body = refused.get_json()
        assert set(body) >= {"code", "status", "message", "errors"}
        assert "3" in body["message"] and "未完成" in body["message"]
        assert db.session.query(Upload).count() == 3  # nothing was stored for the refusal
        # Another user has their own allowance.
        assert create(client, headers["enterprise"], fake(4)).status_code == 201
        # Finishing one frees its place.
        real = create(client, headers["inspector2"], PHOTO)
        assert real.status_code == 201
        app.config["MAX_UNFINISHED_UPLOADS"] = 1
        assert create(client, headers["inspector2"], fake(5)).status_code == 429
        done = patch(client, headers["inspector2"], real.headers["Location"], 0, PHOTO)
        assert done.status_code == 204
        assert create(client, headers["inspector2"], fake(5)).status_code == 201
    finally:
        app.config["MAX_UNFINISHED_UPLOADS"] = default


def _age(upload_id: str, hours: float) -> None:
    db.session.execute(
        update(Upload)
        .where(Upload.id == upload_id)
        .values(created_at=utcnow() - timedelta(hours=hours))
    )
    db.session.commit()


def _started(client, headers, data: bytes) -> str:  # type: ignore[no-untyped-def]
    """An upload with its first half sent; its id."""
    location = create(client, headers, data).headers["Location"]
    assert patch(client, headers, location, 0, data[: len(data) // 2]).status_code == 204
    return location.rsplit("/", 1)[1]


def test_expire_drops_old_partials_and_keeps_recent_ones(client, headers, app: Flask) -> None:
    old = _started(client, headers["inspector"], PHOTO)
    recent = _started(client, headers["inspector"], fake(1) * 50)
    hours = app.config["UPLOAD_EXPIRY_HOURS"]
    _age(old, hours + 1)
    _age(recent, hours - 1)
    assert photo_store().partial_size(old) > 0

    result = CliRunner().invoke(main, ["uploads", "expire"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert "1" in result.output

    assert db.session.get(Upload, old) is None
    assert photo_store().partial_size(old) == 0
    assert db.session.get(Upload, recent) is not None
    assert photo_store().partial_size(recent) > 0
    gone = client.head(f"/api/v1/uploads/{old}", headers={**headers["inspector"], **TUS})
    assert gone.status_code == 404
    # The same photo can simply be sent again.
    again = create(client, headers["inspector"], PHOTO)
    assert (
        patch(client, headers["inspector"], again.headers["Location"], 0, PHOTO).status_code == 204
    )


def test_expire_takes_an_age_and_refuses_a_bad_one(client, headers, app: Flask) -> None:
    upload_id = _started(client, headers["inspector"], PHOTO)
    _age(upload_id, 3)
    runner, info = CliRunner(), ScriptInfo(create_app=lambda: app)
    kept = runner.invoke(main, ["uploads", "expire", "--older-than-hours", "4"], obj=info)
    assert kept.exit_code == 0 and db.session.get(Upload, upload_id) is not None
    bad = runner.invoke(main, ["uploads", "expire", "--older-than-hours", "-1"], obj=info)
    assert bad.exit_code != 0 and "older-than-hours" in bad.output
    dropped = runner.invoke(main, ["uploads", "expire", "--older-than-hours", "2"], obj=info)
    assert dropped.exit_code == 0
    db.session.expire_all()
    assert db.session.get(Upload, upload_id) is None


def test_start_up_expires_old_uploads(client, headers, app: Flask) -> None:
    upload_id = _started(client, headers["inspector"], PHOTO)
    _age(upload_id, app.config["UPLOAD_EXPIRY_HOURS"] + 1)
    create_app(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "DATA_DIR": app.config["DATA_DIR"],
            "SECRET_KEY": "test-secret",
        }
    )
    db.session.expire_all()
    assert db.session.get(Upload, upload_id) is None
    assert photo_store().partial_size(upload_id) == 0
