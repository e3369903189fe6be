"""Heavy-pollution alerts (重污染天气预警), and enterprises' reduction lists (一厂一策)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.alert_schemas import (
    AlertIn,
    AlertOut,
    AlertQuery,
    ReductionListIn,
    ReductionListOut,
)
from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.models import Role
from server.services import alerts, reduction_lists

blp = Blueprint("alerts", __name__, url_prefix="/api/v1", description="预警 / Alerts")
FIELD_ROLES = (Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)


@blp.route("/alerts")
class Alerts(MethodView):
    @roles(*FIELD_ROLES)
    @blp.arguments(AlertQuery, location="query")
    @blp.response(200, AlertOut(many=True))
    def get(self, query: dict[str, Any]) -> list[Any]:
        """Alerts covering the caller's city, newest first; `in_force=1` for those in force."""
        return alerts.visible(current_user(), query["in_force"])

    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(AlertIn)
    @blp.response(201, AlertOut)
    def post(self, fields: dict[str, Any]) -> Any:
        """Declare an alert (level, cities, period, reason); a supervisor for their own city."""
        alert = alerts.declare(current_user(), fields)
        return alert


@blp.route("/enterprises/<int:enterprise_id>/reduction-list")
class ReductionListResource(MethodView):
    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.response(200, ReductionListOut)
    def get(self, enterprise_id: int) -> Any:
        """The enterprise's performance grade and reduction list."""
        return reduction_lists.get(current_user(), enterprise_id)

    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(ReductionListIn)
    @blp.response(200, ReductionListOut)
    def put(self, fields: dict[str, Any], enterprise_id: int) -> Any:
        """Set the grade and the list (each line, its normal load, its measure per level)."""
        row = reduction_lists.save(current_user(), enterprise_id, fields)
        return row
