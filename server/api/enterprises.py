"""Enterprises, for supervisors and admins."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.schemas import EnterpriseDetail, EnterpriseOut, EnterpriseQuery
from server.models import Role
from server.services import registry

blp = Blueprint(
    "enterprises", __name__, url_prefix="/api/v1/enterprises", description="企业 / Enterprises"
)


@blp.route("")
class Enterprises(MethodView):
    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(EnterpriseQuery, location="query")
    @blp.response(200, EnterpriseOut(many=True))
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[Any]:
        """Enterprises in the caller's city (all cities for admins); X-Pagination header."""
        rows, total = registry.list_enterprises(
            current_user(),
            query.get("city"),
            pagination_parameters.page,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return rows


@blp.route("/<int:enterprise_id>")
class EnterpriseResource(MethodView):
    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.response(200, EnterpriseDetail)
    def get(self, enterprise_id: int) -> Any:
        """One enterprise with its sites."""
        return registry.get_enterprise(current_user(), enterprise_id)
