"""The administrator's webhooks page: register an endpoint (its secret shown on this one
response only), disable one, and see each endpoint's latest deliveries and attempts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server.models import Role
from server.services.notify import webhooks
from server.web.common import setup_blueprint
from server.web.session import require, web_user

blp = Blueprint("review_webhooks", __name__, url_prefix="/review/webhooks")
setup_blueprint(blp)
admin = require(Role.ADMIN, login_endpoint="review.login")


def _page(secret: str | None = None, status: int = 200) -> ResponseReturnValue:
    user = web_user()
    endpoints = webhooks.listing(user)
    recent = {
        endpoint.id: webhooks.deliveries(user, endpoint.id, limit=10) for endpoint in endpoints
    }
    page = render_template(
        "review/webhooks.html",
        endpoints=endpoints,
        recent=recent,
        events=webhooks.WEBHOOK_EVENTS,
        secret=secret,
    )
    return page, status


@blp.get("")
@admin
def webhook_list() -> ResponseReturnValue:
    return _page()


@blp.post("")
@admin
def register() -> ResponseReturnValue:
    """Register; answered with the page itself (no redirect), which shows the secret once."""
    fields = {
        "url": request.form.get("url", ""),
        "events": request.form.getlist("events"),
        "description": request.form.get("description", ""),
    }
    _endpoint, secret = webhooks.create(web_user(), fields)
    return _page(secret=secret, status=201)


@blp.post("/<int:endpoint_id>/disable")
@admin
def disable(endpoint_id: int) -> ResponseReturnValue:
    webhooks.disable(web_user(), endpoint_id)
    flash("已停用 / endpoint disabled")
    return redirect(url_for("review_webhooks.webhook_list"), code=303)
