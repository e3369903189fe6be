"""Failed-login allowances: one per address and normalised username, whatever the spelling."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.services import accounts
from tests.helpers import PASSWORD
from tests.web.pages import csrf_from

# Spellings that the lookup takes for the same user: surrounding Unicode whitespace of
# every kind (ASCII, ideographic, no-break, em space) and full-width letters (NFKC).
SPELLINGS = (
    " {}",
    "{} ",
    "\t{}",
    "\u3000{}",
    "{}\xa0",
    "\n{}\u2003",
    "{}\u3000\u3000",
)


def _full_width(name: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)


@pytest.mark.parametrize("spelling", [*SPELLINGS, "full-width"])
def test_every_spelling_of_a_name_logs_in(client: FlaskClient, users, spelling: str) -> None:  # type: ignore[no-untyped-def]
    """The API and the pages find the same user for every spelling, as the limit counts it."""
    name = _full_width("sup") if spelling == "full-width" else spelling.format("sup")
    api = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
    assert api.status_code == 200, api.get_json()
    assert api.get_json()["user"]["username"] == "sup"
    token = csrf_from(client.get("/review/login").text)
    page = client.post(
        "/review/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
    )
    assert page.status_code == 302, page.text


def test_respelling_a_locked_name_gains_no_allowance(
    client: FlaskClient, users, engine_name: str
) -> None:  # type: ignore[no-untyped-def]
    """After ten refusals the account is locked for this address under every spelling, on
    the pages and the API, even with the right password."""
    name = f"ws-guess-{engine_name}"
    accounts.add_user(name, "supervisor", PASSWORD)
    db.session.commit()
    token = csrf_from(client.get("/review/login").text)
    for _ in range(10):
        refused = client.post(
            "/review/login", data={"username": name, "password": "nope", "csrf_token": token}
        )
        assert refused.status_code == 401
    for variant in (*(spelling.format(name) for spelling in SPELLINGS), _full_width(name)):
        page = client.post(
            "/review/login", data={"username": variant, "password": PASSWORD, "csrf_token": token}
        )
        assert page.status_code == 429, (variant, page.status_code)
        api = client.post("/api/v1/auth/token", json={"username": variant, "password": PASSWORD})
        assert api.status_code == 429, (variant, api.get_json())


def test_usernames_are_stored_normalised(app, users) -> None:  # type: ignore[no-untyped-def]
    """A user added with surrounding spaces or full-width letters is found by its plain name."""
    user = accounts.add_user("\u3000ＮＦＫＣ-user ", "inspector", PASSWORD)
    assert user.username == "NFKC-user"
    assert accounts.normalise_username(" ＮＦＫＣ-user\xa0") == "NFKC-user"


def test_only_refused_logins_use_up_the_allowance(
    client: FlaskClient, users, engine_name: str
) -> None:  # type: ignore[no-untyped-def]
    """Every attempt is charged before the check, and a success gives the charge back:
    a dozen good logins in a row all pass, and a success after nine typos clears them."""
    name = f"typist-{engine_name}"  # its own allowance: the limiter outlives the test
    accounts.add_user(name, "inspector", PASSWORD)
    db.session.commit()
    for _ in range(12):
        good = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        assert good.status_code == 200
    for _ in range(2):
        for _ in range(9):
            bad = client.post("/api/v1/auth/token", json={"username": name, "password": "x"})
            assert bad.status_code == 401
        good = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        assert good.status_code == 200
    for _ in range(10):
        bad = client.post("/api/v1/auth/token", json={"username": name, "password": "x"})
        assert bad.status_code == 401
    locked = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 429
