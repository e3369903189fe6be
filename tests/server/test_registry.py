"""Sites feed with a cursor, enterprises for supervisors, QR labels that resolve the site."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from server.extensions import db
from server.services import accounts
from server.services.credit_code import credit_code_problem, make_credit_code
from server.services.registry import save_site
from tests.helpers import PASSWORD, login


def test_credit_code_check_digit() -> None:
    assert credit_code_problem("91350100M000100Y43") is None  # the standard's own example
    assert credit_code_problem("911101080828461726") is None
    assert "check digit" in (credit_code_problem("91350100M000100Y44") or "")
    assert "18" in (credit_code_problem("9135010") or "")
    assert "invalid characters" in (credit_code_problem("91350100M000100YI3") or "")
    assert credit_code_problem(make_credit_code("91140600MA0AB1234")) is None


def test_sites_feed_pages_with_a_cursor(client, headers, registry) -> None:
    first = client.get("/api/v1/sites?limit=5", headers=headers["inspector"]).get_json()
    assert len(first["items"]) == 5 and first["has_more"] is True
    second = client.get(
        f"/api/v1/sites?since={first['cursor']}&limit=5", headers=headers["inspector"]
    ).get_json()
    assert len(second["items"]) == 3 and second["has_more"] is False
    ids = [site["id"] for site in first["items"] + second["items"]]
    assert len(set(ids)) == 8
    site = first["items"][0]
    assert {
        "enterprise_id",
        "credit_code",
        "city",
        "qr_token",
        "lat",
        "lon",
        "radius_m",
        "kind",
    } <= set(site)
    nothing = client.get(
        f"/api/v1/sites?since={second['cursor']}", headers=headers["inspector"]
    ).get_json()
    assert nothing["items"] == [] and nothing["cursor"] == second["cursor"]


def test_a_changed_site_comes_again_after_the_cursor(client, headers, registry) -> None:
    everything = client.get("/api/v1/sites", headers=headers["inspector"]).get_json()
    site = registry["sites"]["SZ-construction"]
    save_site(
        site.enterprise,
        {
            "code": site.code,
            "name": "改名后的工地",
            "kind": site.kind,
            "address": site.address,
            "lat": site.lat,
            "lon": site.lon,
            "radius_m": site.radius_m,
            "active": True,
        },
    )
    db.session.commit()
    changes = client.get(
        f"/api/v1/sites?since={everything['cursor']}", headers=headers["inspector"]
    ).get_json()
    assert [s["name"] for s in changes["items"]] == ["改名后的工地"]


def test_saving_an_unchanged_site_does_not_move_the_cursor(client, headers, registry) -> None:
    everything = client.get("/api/v1/sites", headers=headers["inspector"]).get_json()
    site = registry["sites"]["SZ-construction"]
    save_site(
        site.enterprise,
        {
            "code": site.code,
            "name": site.name,
            "kind": site.kind,
            "address": site.address,
            "lat": site.lat,
            "lon": site.lon,
            "radius_m": site.radius_m,
            "active": True,
        },
    )
    db.session.commit()
    changes = client.get(
        f"/api/v1/sites?since={everything['cursor']}", headers=headers["inspector"]
    ).get_json()
    assert changes["items"] == []


def test_bad_cursor_is_400(client, headers, registry) -> None:
    response = client.get("/api/v1/sites?since=abc", headers=headers["inspector"])
    assert response.status_code == 400
    assert "cursor" in response.get_json()["message"]
    assert client.get("/api/v1/sites?limit=0", headers=headers["inspector"]).status_code == 422


def test_city_limited_user_sees_only_that_city(app, client, registry) -> None:
    # Made through the service, as `users add --city` does, so the audit log records it.
    accounts.add_user("cz-insp", "inspector", PASSWORD, city="长治")
    db.session.commit()
    limited = login(client, "cz-insp")
    items = client.get("/api/v1/sites", headers=limited).get_json()["items"]
    assert items and {site["city"] for site in items} == {"长治"}
    other = registry["sites"]["SZ-construction"]
    assert client.get(f"/api/v1/sites/{other.id}", headers=limited).status_code == 404


def test_label_png_resolves_the_site(app, client, headers, registry) -> None:
    site = registry["sites"]["CZ-construction"]
    response = client.get(f"/api/v1/sites/{site.id}/label.png", headers=headers["inspector"])
    assert response.status_code == 200 and response.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert len(decoded) == 1
    url = decoded[0].text
    # Unset LANTIAN_PUBLIC_URL: the address the request came to (the test client's).
    assert url == f"{app.config['PUBLIC_URL'] or 'http://localhost'}/s/{site.qr_token}"
    token = url.rsplit("/", 1)[1]
    resolved = client.get(f"/api/v1/sites/by-qr/{token}", headers=headers["inspector"])
    assert resolved.get_json()["id"] == site.id
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and site.code in page.get_data(as_text=True)
    assert client.get("/s/not-a-token").status_code == 404
    assert client.get("/api/v1/sites/by-qr/nope", headers=headers["inspector"]).status_code == 404


def test_enterprises_for_supervisors_and_admins(client, headers, registry) -> None:
    listing = client.get("/api/v1/enterprises", headers=headers["supervisor"])
    assert listing.status_code == 200
    assert {e["name"] for e in listing.get_json()} == {
        "朔州测试煤业有限公司",
        "长治测试建设有限公司",
    }
    assert '"total": 2' in listing.headers["X-Pagination"]
    city = client.get("/api/v1/enterprises?city=长治", headers=headers["admin"]).get_json()
    assert [e["city"] for e in city] == ["长治"]
    one = client.get(f"/api/v1/enterprises/{registry['changzhi'].id}", headers=headers["admin"])
    assert one.status_code == 200 and len(one.get_json()["sites"]) == 4
    assert client.get("/api/v1/enterprises/99999", headers=headers["admin"]).status_code == 404
    for role in ("inspector", "enterprise"):
        assert client.get("/api/v1/enterprises", headers=headers[role]).status_code == 403
        path = f"/api/v1/enterprises/{registry['changzhi'].id}"
        assert client.get(path, headers=headers[role]).status_code == 403
