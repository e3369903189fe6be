"""Checklists for devices, cacheable by ETag: versions never change, so 304s are cheap."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.blueprint import Blueprint
from server.api.schemas import ChecklistQuery, ChecklistSchema, ChecklistSummary
from server.services import checklists as checklist_store

blp = Blueprint(
    "checklists",
    __name__,
    url_prefix="/api/v1/checklists",
    description="检查表 / Checklists derived from the plans",
)


@blp.route("")
class Checklists(MethodView):
    @blp.etag
    @blp.response(200, ChecklistSummary(many=True))
    def get(self) -> list[Any]:
        """List the current version of every checklist."""
        return checklist_store.current_versions()


@blp.route("/<string:checklist_id>")
class ChecklistResource(MethodView):
    @blp.etag
    @blp.arguments(ChecklistQuery, location="query")
    @blp.response(200, ChecklistSchema)
    def get(self, query: dict[str, str], checklist_id: str) -> dict[str, Any]:
        """One checklist (its current version, or ?version=), with the plans it cites."""
        version = query.get("version") or checklist_store.recent_current_version_of(checklist_id)
        # A version's content never changes: its id is the ETag, and a device that has it
        # gets its 304 before anything is loaded or serialised.
        blp.set_etag({"checklist": checklist_id, "version": version})
        return checklist_store.describe(checklist_store.get_version(checklist_id, version))
