"""The inspectors and supervisors a device may name on an on-site record (现场检查笔录).

The device pulls this list so the second inspector is picked, not typed, and each name
carries the 执法证号 on file; the server then checks any named account's badge on receipt.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.schemas import ColleagueOut
from server.models import Role
from server.services import accounts

blp = Blueprint(
    "colleagues",
    __name__,
    url_prefix="/api/v1/colleagues",
    description="执法人员 / Inspectors who may sign a record",
)


@blp.route("")
class Colleagues(MethodView):
    @roles(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)
    @blp.etag
    @blp.response(200, ColleagueOut(many=True))
    def get(self) -> list[Any]:
        """Active inspectors and supervisors of the caller's city, with their 执法证号."""
        return accounts.colleagues(current_user())
