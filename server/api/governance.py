"""The law in force: which plans govern each city from when (devices scope items with it)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.blueprint import Blueprint
from server.api.schemas import GovernanceOut
from server.services import law

blp = Blueprint(
    "governance",
    __name__,
    url_prefix="/api/v1/governance",
    description="现行计划 / Plans in force per city",
)


@blp.route("")
class GovernanceResource(MethodView):
    @blp.etag
    @blp.response(200, GovernanceOut)
    def get(self) -> dict[str, Any]:
        """The deployment's declaration: for each city (GB/T 2260), its plans and their dates."""
        declaration = law.governance()
        return {**declaration.to_dict(), "digest": declaration.digest}
