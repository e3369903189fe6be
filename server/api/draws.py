"""双随机 draws: define, preview, draw, issue; and the published record that verifies it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.draw_schemas import (
    AbandonIn,
    DrawIn,
    DrawMoveIn,
    DrawOut,
    IssueIn,
    PreviewIn,
    PreviewOut,
    PublishedOut,
)
from server.models import Draw, Role
from server.services import draw_tasks, draws
from server.services.lifecycles import draw as draw_lifecycle

blp = Blueprint("draws", __name__, url_prefix="/api/v1/draws", description="双随机抽查 / Draws")
STAFF = (Role.SUPERVISOR, Role.ADMIN)


def present(row: Draw) -> dict[str, Any]:
    """A draw as its supervisors see it: never the secret before it is issued."""
    return {
        "id": row.id,
        "status": row.status,
        "title": row.title,
        "city": row.city,
        "criteria": row.criteria,
        "sample_count": row.sample_count,
        "sample_percent": row.sample_percent,
        "checklist_id": row.checklist_id,
        "due_date": row.due_date,
        "candidate_hash": row.candidate_hash,
        "secret_hash": row.secret_hash,
        "created_at": row.created_at,
        "drawn_at": row.drawn_at,
        "issued_at": row.issued_at,
        "seed": row.seed,
        "result": row.result,
        "task_ids": row.task_ids,
        "abandoned_at": row.abandoned_at,
        "abandon_reason": row.abandon_reason or "",
        "actions": draw_lifecycle.actions(current_user(), row),
    }


@blp.route("")
class Draws(MethodView):
    @roles(*STAFF)
    @blp.response(200, DrawOut(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The draws of the caller's city, newest first."""
        return [present(row) for row in draws.visible(current_user())]

    @roles(*STAFF)
    @blp.arguments(DrawIn)
    @blp.response(201, DrawOut)
    def post(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Define a draw: its candidate list and secret are fixed and their hashes published."""
        return present(draws.create(current_user(), fields))


@blp.route("/preview")
class Preview(MethodView):
    @roles(*STAFF)
    @blp.arguments(PreviewIn)
    @blp.response(200, PreviewOut)
    def post(self, fields: dict[str, Any]) -> dict[str, Any]:
        """How many active sites the population holds (and how many a count/percent draws)."""
        return draws.preview(current_user(), fields)


@blp.route("/<int:draw_id>")
class DrawResource(MethodView):
    @roles(*STAFF)
    @blp.response(200, DrawOut)
    def get(self, draw_id: int) -> dict[str, Any]:
        """One draw: its hashes, and its result once drawn."""
        return present(draws.get_for(current_user(), draw_id))


@blp.route("/<int:draw_id>/draw")
class DrawMove(MethodView):
    @roles(*STAFF)
    @blp.arguments(DrawMoveIn)
    @blp.response(200, DrawOut)
    @blp.alt_response(409, description="已抽取或名单不符 / already drawn, or another list")
    def post(self, fields: dict[str, Any], draw_id: int) -> dict[str, Any]:
        """Fix a fresh unpredictable value (and an optional witness value) and draw; the body
        names the candidate_hash being drawn."""
        row = draw_lifecycle.draw(
            current_user(), draw_id, fields["candidate_hash"], fields["witness"]
        )
        return present(row)


@blp.route("/<int:draw_id>/issue")
class IssueMove(MethodView):
    @roles(*STAFF)
    @blp.arguments(IssueIn)
    @blp.response(200, DrawOut)
    @blp.alt_response(
        409, description="未抽取、已下达或结果不符 / not drawn, issued, or another result"
    )
    def post(self, fields: dict[str, Any], draw_id: int) -> dict[str, Any]:
        """Issue the drawn tasks to their inspector pairs and reveal the secret; the body
        names the seed of the result being issued."""
        row = draw_lifecycle.issue(current_user(), draw_id, fields["seed"], draw_tasks.issue_tasks)
        return present(row)


@blp.route("/<int:draw_id>/abandon")
class AbandonMove(MethodView):
    @roles(*STAFF)
    @blp.arguments(AbandonIn)
    @blp.response(200, DrawOut)
    @blp.alt_response(409, description="已下达或已作废 / already issued or abandoned")
    def post(self, fields: dict[str, Any], draw_id: int) -> dict[str, Any]:
        """Abandon a draw not yet issued, with a reason shown publicly on /public/; a drawn
        draw abandoned publishes its secret and result (so a re-roll is visible)."""
        return present(draw_lifecycle.abandon(current_user(), draw_id, fields["reason"]))


@blp.route("/<int:draw_id>/published")
class PublishedResource(MethodView):
    @roles(*STAFF)
    @blp.response(200, PublishedOut)
    def get(self, draw_id: int) -> dict[str, Any]:
        """The published record: hashes always; secret, value, seed and result once issued."""
        return draws.public_view(draws.get_for(current_user(), draw_id))
