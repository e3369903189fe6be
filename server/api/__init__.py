"""The /api/v1 surface: one flask-smorest blueprint per resource."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Flask, send_from_directory

from server.api import (
    alerts,
    auth,
    checklists,
    colleagues,
    draws,
    enterprises,
    findings,
    governance,
    health,
    inspections,
    ledger,
    notices,
    photos,
    sites,
    tasks,
    uploads,
    webhooks,
)
from server.api.blueprint import RowIdConverter, refuse_nul_in_url
from server.api.errors import register_error_handlers
from server.api.schemas import ErrorOut
from server.http_common.extensions import api

BLUEPRINTS = (
    auth.blp,
    checklists.blp,
    governance.blp,
    sites.blp,
    enterprises.blp,
    inspections.blp,
    findings.blp,
    notices.blp,
    ledger.blp,
    photos.blp,
    uploads.blp,
    health.blp,
    alerts.blp,
    colleagues.blp,
    tasks.blp,
    draws.blp,
    webhooks.blp,
)


def init_api(app: Flask) -> None:
    """Bind flask-smorest, the blueprints, bearer auth and the JSON error handlers."""
    # Before any rule is added: rules bind their converters when they are added.
    app.url_map.converters["int"] = RowIdConverter
    api.ERROR_SCHEMA = ErrorOut  # documents `error`, the machine code, in every error response
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.before_request(refuse_nul_in_url)  # before authentication, which queries too
    auth.init_auth(app)
    register_error_handlers(app)
    swagger_dir = Path(swagger_ui_bundle.swagger_ui_path)

    @app.route("/api/static/swagger-ui/<path:filename>")
    def swagger_ui_static(filename: str):  # type: ignore[no-untyped-def]
        """Swagger UI served from the installed package: the docs page works offline."""
        return send_from_directory(swagger_dir, filename)
