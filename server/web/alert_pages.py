"""The supervisors' alerts page: declare a heavy-pollution alert, see those declared."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server.models import AlertLevel
from server.services import alerts, law
from server.services.errors import ErrorCode, Invalid
from server.services.timeutil import LOCAL_ZONE
from server.web.common import setup_blueprint
from server.web.session import STAFF, require, web_user

blp = Blueprint("review_alerts", __name__, url_prefix="/review/alerts")
setup_blueprint(blp)
staff = require(*STAFF, login_endpoint="review.login")
LEVEL_LABELS = {
    AlertLevel.YELLOW.value: "黄色 / Yellow",
    AlertLevel.ORANGE.value: "橙色 / Orange",
    AlertLevel.RED.value: "红色 / Red",
}


def _local(raw: str | None, field: str, errors: dict[str, list[str]]) -> datetime | None:
    """A `datetime-local` field, read as China time (what the supervisor's clock shows)."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=LOCAL_ZONE)
    except ValueError:
        errors[field] = [f"时间格式应为 YYYY-MM-DDTHH:MM / not a time: {raw!r}"]
        return None


def _form_fields() -> dict[str, Any]:
    """The form as the service takes it; a bad field is a 422 page naming it."""
    form = request.form
    errors: dict[str, list[str]] = {}
    level = form.get("level", "")
    if level not in LEVEL_LABELS:
        errors["level"] = [f"未知预警级别 / unknown level {level!r}"]
    cities = [name for name in form.getlist("cities") if name.strip()]
    if not cities:
        errors["cities"] = ["请选择城市 / choose at least one city"]
    starts_at = _local(form.get("starts_at"), "starts_at", errors)
    ends_at = _local(form.get("ends_at"), "ends_at", errors)
    if ends_at is None and "ends_at" not in errors:
        errors["ends_at"] = ["请填写结束时间 / give the end of the alert"]
    request_id = None
    try:
        request_id = uuid.UUID(form.get("request_id", "")) if form.get("request_id") else None
    except ValueError:
        errors["request_id"] = ["表单已损坏，请刷新页面 / the form is damaged: reload the page"]
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > 500:
        errors["reason"] = ["请填写预警依据（500字以内）/ give the reason (up to 500 characters)"]
    if errors:
        raise Invalid(ErrorCode.ALERT_INVALID, "无法发布预警 / cannot declare the alert", errors)
    return {
        "level": level,
        "cities": cities,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": reason,
        "request_id": request_id,
    }


@blp.get("")
@staff
def alert_list() -> ResponseReturnValue:
    """Alerts of the supervisor's city, newest first, those in force marked; the form."""
    user = web_user()
    listed = alerts.visible(user, in_force=False)
    in_force = {alert.id for alert in alerts.visible(user, in_force=True)}
    cities = [
        city.name
        for city in law.governance().cities
        if user.city is None or law.governance().city(user.city) == city
    ]
    return render_template(
        "review/alerts.html",
        alerts=listed,
        in_force=in_force,
        cities=cities,
        levels=LEVEL_LABELS,
        city_names=alerts.city_names,
        # One id per form shown: a double click or a resent form declares one alert.
        request_id=uuid.uuid4(),
    )


@blp.post("")
@staff
def declare() -> ResponseReturnValue:
    alert = alerts.declare(web_user(), _form_fields())
    flash(f"已发布{LEVEL_LABELS[alert.level]}预警 / alert declared")
    return redirect(url_for("review_alerts.alert_list"), code=303)
