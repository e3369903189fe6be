"""Tasks (检查任务) and clues (问题线索): supervisors dispatch, inspectors pull their own."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.task_schemas import (
    CancelIn,
    ClueIn,
    ClueOut,
    ClueQuery,
    ClueTaskIn,
    DismissIn,
    ReassignIn,
    TaskIn,
    TaskOut,
    TaskQuery,
    VerificationIn,
)
from server.models import Clue, Role, Task
from server.services import clues, tasks
from server.services.lifecycles import clue as clue_lifecycle
from server.services.lifecycles import finding as finding_lifecycle
from server.services.lifecycles import task as task_lifecycle

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="任务与线索 / Tasks and clues")
STAFF = (Role.SUPERVISOR, Role.ADMIN)
READERS = (Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)


def present(task: Task) -> dict[str, Any]:
    """A task with what the caller may do with it now."""
    described = tasks.describe(task, tasks.sites_of([task]), tasks.users_of([task]))
    return {**described, "actions": task_lifecycle.actions(current_user(), task)}


def present_many(rows: list[Task]) -> list[dict[str, Any]]:
    sites, people = tasks.sites_of(rows), tasks.users_of(rows)
    user = current_user()
    return [
        {**tasks.describe(row, sites, people), "actions": task_lifecycle.actions(user, row)}
        for row in rows
    ]


def present_clue(clue: Clue) -> dict[str, Any]:
    return {
        **{column: getattr(clue, column) for column in ClueOut().fields if column != "actions"},
        "actions": clue_lifecycle.actions(current_user(), clue),
    }


@blp.route("/tasks")
class Tasks(MethodView):
    @roles(*READERS)
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskOut(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Tasks the caller may see — an inspector only their own — open ones first."""
        return present_many(tasks.visible(current_user(), tasks.TaskFilter(**query)))

    @roles(*STAFF)
    @blp.arguments(TaskIn)
    @blp.response(201, TaskOut)
    def post(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a task: sites, checklist, due date, two or more inspectors, reason."""
        return present(tasks.create_task(actor=current_user(), **fields))


@blp.route("/tasks/<int:task_id>")
class TaskResource(MethodView):
    @roles(*READERS)
    @blp.response(200, TaskOut)
    def get(self, task_id: int) -> dict[str, Any]:
        """One task; a re-visit carries the closure inspection it compares with."""
        return present(tasks.get_for(current_user(), task_id))


@blp.route("/tasks/<int:task_id>/cancel")
class TaskCancel(MethodView):
    @roles(*STAFF)
    @blp.arguments(CancelIn)
    @blp.response(200, TaskOut)
    @blp.alt_response(409, description="任务已完成或已取消 / no longer open")
    def post(self, fields: dict[str, Any], task_id: int) -> dict[str, Any]:
        """Cancel an open task, saying why."""
        return present(task_lifecycle.cancel(current_user(), task_id, fields["reason"]))


@blp.route("/tasks/<int:task_id>/reassign")
class TaskReassign(MethodView):
    @roles(*STAFF)
    @blp.arguments(ReassignIn)
    @blp.response(200, TaskOut)
    @blp.alt_response(409, description="已被他人改派或已结束 / reassigned meanwhile, or ended")
    def post(self, fields: dict[str, Any], task_id: int) -> dict[str, Any]:
        """Change an open task's inspectors and/or due date (`version`: the one you read)."""
        task = task_lifecycle.reassign(current_user(), task_id, **fields)
        return present(task)


@blp.route("/findings/<int:finding_id>/verification")
class FindingVerification(MethodView):
    @roles(*STAFF)
    @blp.arguments(VerificationIn)
    @blp.response(201, TaskOut)
    @blp.alt_response(409, description="问题未处于待核验状态 / not answered, or already sent")
    def post(self, fields: dict[str, Any], finding_id: int) -> dict[str, Any]:
        """Ask for on-site verification before 销号: a re-inspection task whose inspection,
        not a click, then closes or reopens the finding."""
        task = finding_lifecycle.request_verification(current_user(), finding_id, **fields)
        return present(task)


@blp.route("/clues")
class Clues(MethodView):
    @roles(*STAFF)
    @blp.arguments(ClueQuery, location="query")
    @blp.response(200, ClueOut(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Clues of the caller's city (and those matched to no city), waiting ones first."""
        return [present_clue(row) for row in clues.visible(current_user(), query.get("status"))]

    @roles(*READERS)
    @blp.arguments(ClueIn)
    @blp.response(201, ClueOut)
    def post(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Record a clue (12369 complaint, grid alarm, monitoring exceedance, inspector's
        report) with its place; it is matched to the registered sites nearby."""
        return present_clue(clues.record(current_user(), fields))


@blp.route("/clues/<int:clue_id>")
class ClueResource(MethodView):
    @roles(*STAFF)
    @blp.response(200, ClueOut)
    def get(self, clue_id: int) -> dict[str, Any]:
        """One clue with its matched sites."""
        return present_clue(clues.get_for(current_user(), clue_id))


@blp.route("/clues/<int:clue_id>/task")
class ClueToTask(MethodView):
    @roles(*STAFF)
    @blp.arguments(ClueTaskIn)
    @blp.response(201, TaskOut)
    @blp.alt_response(409, description="线索已处理 / already handled")
    def post(self, fields: dict[str, Any], clue_id: int) -> dict[str, Any]:
        """Turn a clue into a task with a response deadline (`due_on`)."""
        return present(clue_lifecycle.to_task(current_user(), clue_id, **fields))


@blp.route("/clues/<int:clue_id>/dismiss")
class ClueDismiss(MethodView):
    @roles(*STAFF)
    @blp.arguments(DismissIn)
    @blp.response(200, ClueOut)
    @blp.alt_response(409, description="线索已处理 / already handled")
    def post(self, fields: dict[str, Any], clue_id: int) -> dict[str, Any]:
        """Dismiss a clue, saying why."""
        return present_clue(clue_lifecycle.dismiss(current_user(), clue_id, fields["reason"]))
