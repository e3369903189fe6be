"""The OpenAPI spec documents every route, and the docs page works offline."""

from __future__ import annotations


def test_spec_lists_the_sync_api(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/checklists",
        "/api/v1/checklists/{checklist_id}",
        "/api/v1/sites",
        "/api/v1/sites/{site_id}/label.png",
        "/api/v1/inspections/{inspection_id}",
        "/api/v1/photos/{sha256}",
        "/api/v1/enterprises",
        "/api/v1/enterprises/{enterprise_id}",
        "/healthz",
    ):
        assert path in paths, path
    put = paths["/api/v1/inspections/{inspection_id}"]["put"]
    assert {"200", "201", "409", "422"} <= set(put["responses"])
    assert put["summary"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_flask_route_under_api_v1_is_in_the_spec(app, client) -> None:
    spec_paths = set(client.get("/api/v1/openapi.json").get_json()["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json":
            templated = (
                rule.rule.replace("<string:", "{")
                .replace("<int:", "{")
                .replace("<uuid:", "{")
                .replace(">", "}")
            )
            assert templated in spec_paths, rule.rule


def test_docs_page_and_its_scripts_are_served_locally(client) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/static/swagger-ui/" in html
    script = client.get("/api/static/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 100_000


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "photos": "ok"}


def test_unknown_api_route_is_json_404(client, headers) -> None:
    response = client.get("/api/v1/nothing-here", headers=headers["admin"])
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    wrong_method = client.delete("/api/v1/checklists", headers=headers["admin"])
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["code"] == 405
