"""`lantian-field login` against the real server: who may use the field client, and how
the login's expiry is shown."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Field, ServerProcess
from tests.helpers import PASSWORD


@pytest.mark.parametrize("username", ["sup", "adm", "ent"])
def test_login_refuses_roles_that_cannot_use_the_field_client(
    live_server: ServerProcess, field: Field, users, username: str
) -> None:
    result = field.run(
        "login", "--server", live_server.url, "--user", username, "--password", PASSWORD, expect=1
    )
    assert "inspectors only" in result.stderr and "检查员" in result.stderr, result.stderr
    assert not (field.home / "credentials.json").exists()


def test_login_shows_its_expiry_in_china_time(
    live_server: ServerProcess, field: Field, users
) -> None:
    field.env["TZ"] = "UTC"
    result = field.run(
        "login", "--server", live_server.url, "--user", "insp", "--password", PASSWORD
    )
    saved = json.loads((field.home / "credentials.json").read_text(encoding="utf-8"))
    expires = datetime.fromisoformat(saved["expires_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert expires.strftime("%Y-%m-%d %H:%M") in result.stdout, result.stdout
    assert saved["expires_at"] not in result.stdout


@pytest.mark.parametrize("username", ["sup", "adm", "ent"])
def test_the_app_refuses_the_same_roles(
    live_server: ServerProcess, field: Field, users, username: str
) -> None:
    """The app's login form kept a supervisor's, an administrator's or an enterprise's
    token where the command refuses it: the same rule now holds on both."""
    from field_client.app import create_app

    client = create_app(field.home).test_client()
    form = {"server": live_server.url, "username": username, "password": PASSWORD}
    answer = client.post("/login", data=form)
    assert answer.status_code == 422
    assert "inspectors only" in answer.get_data(as_text=True)
    assert not (field.home / "credentials.json").exists()
    inspector = client.post("/login", data={**form, "username": "insp"})
    assert inspector.status_code == 303
    assert (field.home / "credentials.json").exists()
