"""The supervisors' 双随机 pages: define a draw (with a preview of the population), draw,
issue, and read the published record that lets anyone re-run it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server.services import checklists, draw_tasks, draws
from server.services.errors import DomainError, ErrorCode, Invalid
from server.services.lifecycles import draw as draw_lifecycle
from server.web.common import parse_date, setup_blueprint
from server.web.session import STAFF, require, web_user

blp = Blueprint("review_draws", __name__, url_prefix="/review/draws")
setup_blueprint(blp)
staff = require(*STAFF, login_endpoint="review.login")
STATUS_LABELS = {
    "committed": "已公示承诺 / committed",
    "drawn": "已抽取 / drawn",
    "issued": "已下达 / issued",
    "abandoned": "已作废 / abandoned",
}
POPULATION_KEYS = ("city_code", "district_code", "industry", "site_kind")


def _ids(raw: str, field: str, errors: dict[str, list[str]]) -> list[int]:
    """Ids typed as "3, 7 12" (commas, spaces or new lines)."""
    parts = raw.replace(",", " ").replace("，", " ").split()
    try:
        return [int(part) for part in parts]
    except ValueError:
        errors[field] = ["应为以逗号分隔的编号 / ids separated by commas"]
        return []


def _number(raw: str | None, field: str, errors: dict[str, list[str]]) -> int | None:
    if not raw or not raw.strip():
        return None
    try:
        return int(raw)
    except ValueError:
        errors[field] = [f"应为整数 / not a whole number: {raw!r}"]
        return None


def _fields(source: Any, full: bool) -> dict[str, Any]:
    """The form (or the preview's query) as the service takes it; a bad field is a 422."""
    errors: dict[str, list[str]] = {}
    fields: dict[str, Any] = {key: (source.get(key) or "").strip() for key in POPULATION_KEYS}
    fields["site_ids"] = _ids(source.get("site_ids", ""), "site_ids", errors)
    amount = _number(source.get("amount"), "amount", errors)
    if source.get("unit") == "count":
        fields["count"] = amount
    elif amount is not None:
        fields["percent"] = amount
    if full:
        fields["title"] = (source.get("title") or "").strip()[:200]
        fields["checklist_id"] = source.get("checklist_id", "")
        fields["due_date"] = parse_date(source.get("due_date"), "due_date", errors)
        if fields["due_date"] is None and "due_date" not in errors:
            errors["due_date"] = ["请填写完成期限 / give the due date"]
        fields["inspector_ids"] = [
            int(value) for value in source.getlist("inspector_ids") if value.isdigit()
        ]
    if errors:
        raise Invalid(ErrorCode.DRAW_INVALID, "无法建立抽查 / cannot define the draw", errors)
    return fields


@blp.get("")
@staff
def draw_list() -> ResponseReturnValue:
    """The city's draws and the form; `?preview=1` counts the population first."""
    user = web_user()
    preview = None
    preview_error = None
    if request.args.get("preview"):
        try:
            preview = draws.preview(user, _fields(request.args, full=False))
        except DomainError as error:
            preview_error = error.message
    return render_template(
        "review/draws.html",
        draws=draws.visible(user),
        statuses=STATUS_LABELS,
        titles=checklists.titles(),
        inspectors=draws.certified_inspectors(None if user.city is None else user.city),
        preview=preview,
        preview_error=preview_error,
        form=request.args,
    )


@blp.post("")
@staff
def create() -> ResponseReturnValue:
    row = draws.create(web_user(), _fields(request.form, full=True))
    flash(f"已建立抽查 #{row.id}，承诺值已公示 / draw #{row.id} defined, commitments published")
    return redirect(url_for("review_draws.draw_detail", draw_id=row.id), code=303)


@blp.get("/<int:draw_id>")
@staff
def draw_detail(draw_id: int) -> ResponseReturnValue:
    user = web_user()
    row = draws.get_for(user, draw_id)
    sites = draws.candidate_sites(row)
    people = draws.names_of({uid for entry in row.result or [] for uid in entry["inspectors"]})
    return render_template(
        "review/draw.html",
        draw=row,
        statuses=STATUS_LABELS,
        titles=checklists.titles(),
        sites=sites,
        people=people,
        published=draws.public_view(row),
        actions=draw_lifecycle.actions(user, row),
    )


@blp.post("/<int:draw_id>/draw")
@staff
def draw_move(draw_id: int) -> ResponseReturnValue:
    form = request.form
    draw_lifecycle.draw(
        web_user(), draw_id, form.get("candidate_hash", ""), form.get("witness", "")
    )
    flash("已抽取 / drawn")
    return redirect(url_for("review_draws.draw_detail", draw_id=draw_id), code=303)


@blp.post("/<int:draw_id>/issue")
@staff
def issue_move(draw_id: int) -> ResponseReturnValue:
    seed = request.form.get("seed", "")
    row = draw_lifecycle.issue(web_user(), draw_id, seed, draw_tasks.issue_tasks)
    flash(f"已下达{len(row.task_ids or [])}项任务，密钥已公开 / tasks issued, secret revealed")
    return redirect(url_for("review_draws.draw_detail", draw_id=draw_id), code=303)


@blp.post("/<int:draw_id>/abandon")
@staff
def abandon_move(draw_id: int) -> ResponseReturnValue:
    draw_lifecycle.abandon(web_user(), draw_id, request.form.get("reason", ""))
    flash("已作废，原因已公示 / abandoned; the reason is public")
    return redirect(url_for("review_draws.draw_detail", draw_id=draw_id), code=303)
