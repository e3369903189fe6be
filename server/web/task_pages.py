"""Supervisors' task and clue pages: /review/tasks and /review/clues.

Create, reassign and cancel tasks; ask for a finding's on-site verification; record clues,
turn them into tasks or dismiss them. Every form goes to the same services and lifecycles
as the API, so the pages can do nothing the API could not.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server.models import ClueKind, TaskReason, User
from server.services import checklists as checklist_store
from server.services import clues, registry, tasks, wording
from server.services.errors import ErrorCode, Invalid
from server.services.lifecycles import clue as clue_lifecycle
from server.services.lifecycles import finding as finding_lifecycle
from server.services.lifecycles import task as task_lifecycle
from server.services.timeutil import LOCAL_ZONE
from server.web.common import setup_blueprint
from server.web.session import STAFF, require, web_user

blp = Blueprint("review_tasks", __name__, url_prefix="/review/tasks")
setup_blueprint(blp)
clue_blp = Blueprint("review_clues", __name__, url_prefix="/review/clues")
setup_blueprint(clue_blp)
staff = require(*STAFF, login_endpoint="review.login")

REASON_LABELS = {str(key): value for key, value in wording.TASK_REASON.items()}
STATUS_LABELS = {str(key): value for key, value in wording.TASK_STATUS.items()}
KIND_LABELS = {
    ClueKind.COMPLAINT.value: "投诉举报（12369/信访）/ complaint",
    ClueKind.GRID_ALARM.value: "热点网格报警 / grid alarm",
    ClueKind.ONLINE_MONITORING.value: "在线监测超标 / monitoring exceedance",
    ClueKind.INSPECTOR_REPORT.value: "检查员发现 / inspector's report",
}


def _ids(name: str, errors: dict[str, list[str]]) -> list[int]:
    values = []
    for raw in request.form.getlist(name):
        for part in raw.replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or len(part) > 9:
                errors[name] = [f"不是编号 / not an id: {part!r}"]
                return []
            values.append(int(part))
    return values


def _day(name: str, errors: dict[str, list[str]], required: bool = True) -> date | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        if required:
            errors[name] = ["请填写日期 / give a date"]
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = [f"日期格式应为 YYYY-MM-DD / not a date: {raw!r}"]
        return None


def _assignment(with_sites: bool = True) -> dict[str, Any]:
    """The create/to-task form as the services take it; a bad field is a 422 page."""
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {
        "inspector_ids": _ids("inspector_ids", errors),
        "due_on": _day("due_on", errors),
        "note": request.form.get("note", ""),
    }
    if with_sites:
        fields["site_ids"] = _ids("site_ids", errors)
        fields["checklist_id"] = request.form.get("checklist_id", "").strip()
    if errors:
        raise Invalid(ErrorCode.TASK_INVALID, "无法保存任务 / the task cannot be saved", errors)
    return fields


def _choices(user: User) -> dict[str, Any]:
    """What the forms offer: the sites in scope, checklists, inspectors."""
    sites = [
        site
        for enterprise in registry.enterprises_in_scope(user).values()
        for site in enterprise.sites
        if site.active
    ]
    return {
        "site_choices": sorted(sites, key=lambda site: site.code)[:1000],
        "checklists": checklist_store.titles(),
        "inspectors": tasks.inspectors_for(user),
        # A 双随机 task is made only by issuing a draw (tasks.create_task refuses it here).
        "reasons": {
            key: label
            for key, label in REASON_LABELS.items()
            if key != TaskReason.DOUBLE_RANDOM.value
        },
    }


def _labels() -> dict[str, Any]:
    return {"reason_labels": REASON_LABELS, "status_labels": STATUS_LABELS}


@blp.get("")
@staff
def task_list() -> ResponseReturnValue:
    """Tasks of the supervisor's city, open ones first; the form to create one."""
    user = web_user()
    status = request.args.get("status") or None
    if status not in (None, *STATUS_LABELS):
        abort(404)
    wanted = tasks.TaskFilter(status=status, overdue=request.args.get("overdue") == "1")
    rows = tasks.visible(user, wanted)
    return render_template(
        "review/tasks.html",
        rows=rows,
        sites=tasks.sites_of(rows),
        people=tasks.users_of(rows),
        is_overdue=tasks.is_overdue,
        wanted=wanted,
        **_choices(user),
        **_labels(),
    )


@blp.post("")
@staff
def create() -> ResponseReturnValue:
    fields = _assignment()
    reason = request.form.get("reason", TaskReason.PLANNED.value)
    task = tasks.create_task(actor=web_user(), reason=reason, **fields)
    flash(f"已派发任务 #{task.id} / task created")
    return redirect(url_for("review_tasks.task_detail", task_id=task.id), code=303)


@blp.get("/<int:task_id>")
@staff
def task_detail(task_id: int) -> ResponseReturnValue:
    user = web_user()
    task = tasks.get_for(user, task_id)
    return render_template(
        "review/task.html",
        task=task,
        sites=tasks.sites_of([task]),
        people=tasks.users_of([task]),
        overdue=tasks.is_overdue(task),
        actions=task_lifecycle.actions(user, task),
        comparison=tasks.side_by_side(task),
        **_choices(user),
        **_labels(),
    )


@blp.post("/<int:task_id>/reassign")
@staff
def reassign(task_id: int) -> ResponseReturnValue:
    errors: dict[str, list[str]] = {}
    inspector_ids = _ids("inspector_ids", errors) or None
    due_on = _day("due_on", errors, required=False)
    raw_version = request.form.get("version", "")
    if not raw_version.isdigit() or len(raw_version) > 9:
        errors["version"] = ["缺少版本 / the version you read is missing"]
    if errors:
        raise Invalid(ErrorCode.TASK_INVALID, "无法改派 / cannot reassign", errors)
    task_lifecycle.reassign(
        web_user(), task_id, inspector_ids=inspector_ids, due_on=due_on, version=int(raw_version)
    )
    flash(f"任务 #{task_id} 已改派 / reassigned")
    return redirect(url_for("review_tasks.task_detail", task_id=task_id), code=303)


@blp.post("/<int:task_id>/cancel")
@staff
def cancel(task_id: int) -> ResponseReturnValue:
    task_lifecycle.cancel(web_user(), task_id, request.form.get("reason", ""))
    flash(f"任务 #{task_id} 已取消 / cancelled")
    return redirect(url_for("review_tasks.task_detail", task_id=task_id), code=303)


@blp.post("/findings/<int:finding_id>/verification")
@staff
def request_verification(finding_id: int) -> ResponseReturnValue:
    """From a notice page: send an answered finding for on-site verification."""
    fields = _assignment(with_sites=False)
    task = finding_lifecycle.request_verification(web_user(), finding_id, **fields)
    flash(f"已派发复查任务 #{task.id}，问题将由复查结果销号 / re-inspection task created")
    return redirect(url_for("review_tasks.task_detail", task_id=task.id), code=303)


@clue_blp.get("")
@staff
def clue_list() -> ResponseReturnValue:
    user = web_user()
    rows = clues.visible(user)
    return render_template(
        "review/clues.html",
        rows=rows,
        sites=clues.matched_sites(rows),
        kinds=KIND_LABELS,
        rates=clues.rates(user),
    )


def _clue_fields() -> dict[str, Any]:
    form = request.form
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {
        "kind": form.get("kind", ""),
        "description": form.get("description", ""),
        "external_ref": form.get("external_ref", "")[:80],
    }
    if fields["kind"] not in KIND_LABELS:
        errors["kind"] = [f"未知类型 / unknown kind {fields['kind']!r}"]
    for name, bound in (("lat", 90.0), ("lon", 180.0)):
        try:
            value = float(form.get(name, ""))
            if not -bound <= value <= bound:
                raise ValueError
            fields[name] = value
        except ValueError:
            errors[name] = [f"坐标有误 / not a {name} in ±{bound:g}"]
    raw = form.get("received_at", "").strip()
    if raw:
        try:
            fields["received_at"] = datetime.fromisoformat(raw).replace(tzinfo=LOCAL_ZONE)
        except ValueError:
            errors["received_at"] = [f"时间格式有误 / not a time: {raw!r}"]
    if not fields["description"].strip() or len(fields["description"]) > 2000:
        errors["description"] = ["请描述线索（2000字以内）/ describe it (up to 2000 characters)"]
    if errors:
        raise Invalid(ErrorCode.CLUE_INVALID, "线索有误 / invalid clue", errors)
    return fields


@clue_blp.post("")
@staff
def record_clue() -> ResponseReturnValue:
    clue = clues.record(web_user(), _clue_fields())
    flash(f"已登记线索 #{clue.id}，匹配场所 {len(clue.matches)} 个 / clue recorded")
    return redirect(url_for("review_clues.clue_detail", clue_id=clue.id), code=303)


@clue_blp.get("/<int:clue_id>")
@staff
def clue_detail(clue_id: int) -> ResponseReturnValue:
    user = web_user()
    clue = clues.get_for(user, clue_id)
    return render_template(
        "review/clue.html",
        clue=clue,
        sites=clues.matched_sites([clue]),
        kinds=KIND_LABELS,
        actions=clue_lifecycle.actions(user, clue),
        **_choices(user),
        **_labels(),
    )


@clue_blp.post("/<int:clue_id>/task")
@staff
def clue_to_task(clue_id: int) -> ResponseReturnValue:
    task = clue_lifecycle.to_task(web_user(), clue_id, **_assignment())
    flash(f"线索 #{clue_id} 已转为任务 #{task.id} / turned into a task")
    return redirect(url_for("review_tasks.task_detail", task_id=task.id), code=303)


@clue_blp.post("/<int:clue_id>/dismiss")
@staff
def dismiss_clue(clue_id: int) -> ResponseReturnValue:
    clue_lifecycle.dismiss(web_user(), clue_id, request.form.get("reason", ""))
    flash(f"线索 #{clue_id} 不予处理 / dismissed")
    return redirect(url_for("review_clues.clue_detail", clue_id=clue_id), code=303)
