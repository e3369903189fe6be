"""Liveness and readiness: the database answers and the photo store is writable."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.blueprint import Blueprint
from server.services.health import check

blp = Blueprint("health", __name__, url_prefix="/", description="健康检查 / Health")


@blp.route("healthz")
class Health(MethodView):
    @blp.doc(security=[])  # for load balancers and monitors: no token
    @blp.response(200, description="ok")
    @blp.alt_response(503, description="数据库或存储不可用 / database or store down")
    def get(self) -> tuple[dict[str, Any], int]:
        """Whether the server can serve: database reachable, photo store writable."""
        report = check()
        return report, 200 if report["status"] == "ok" else 503
