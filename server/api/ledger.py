"""The Excel ledger (台账), filtered like the findings list."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.schemas import FindingQuery
from server.models import Role
from server.services import ledger
from server.services.findings import FindingFilter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
blp = Blueprint("ledger", __name__, url_prefix="/api/v1", description="台账 / Ledger")


@blp.route("/ledger.xlsx")
class Ledger(MethodView):
    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(FindingQuery, location="query")
    @blp.response(200, description="台账 Excel", content_type=XLSX)
    def get(self, query: dict[str, Any]) -> Response:
        """Findings, notices and inspections as an Excel workbook, with the findings filters."""
        data = ledger.build(current_user(), FindingFilter(**query))
        return Response(
            data,
            mimetype=XLSX,
            headers={"Content-Disposition": 'attachment; filename="ledger.xlsx"'},
        )
