"""Outbound webhooks: administrators register endpoints per event kind (the secret is
returned once, on creation), disable them and read each delivery's attempts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.schemas import StrictSchema
from server.models import Role
from server.services.notify import webhooks

blp = Blueprint(
    "webhooks", __name__, url_prefix="/api/v1", description="Webhook 推送 / Outbound webhooks"
)


class WebhookIn(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(1, 500))
    events = fields.List(
        fields.String(validate=validate.OneOf(webhooks.WEBHOOK_EVENTS)),
        required=True,
        validate=validate.Length(1, len(webhooks.WEBHOOK_EVENTS)),
        metadata={"description": "event kinds: " + ", ".join(webhooks.WEBHOOK_EVENTS)},
    )
    description = fields.String(load_default="", validate=validate.Length(0, 200))


class WebhookOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    created_by = fields.Integer()
    created_at = fields.AwareDateTime()


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(
        metadata={
            "description": "HMAC-SHA256 key of the X-Lantian-Signature header; shown only "
            "in this response, never again"
        }
    )


class AttemptOut(Schema):
    number = fields.Integer()
    status_code = fields.Integer(allow_none=True)
    ok = fields.Boolean()
    error = fields.String()
    duration_ms = fields.Integer()
    created_at = fields.AwareDateTime()


class DeliveryOut(Schema):
    id = fields.Integer()
    event_id = fields.String()
    status = fields.String(metadata={"description": "pending, sending, sent or failed"})
    attempts = fields.Integer()
    delivered_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String()
    created_at = fields.AwareDateTime()
    log = fields.List(fields.Nested(AttemptOut), data_key="attempt_log")


@blp.route("/webhooks")
class Webhooks(MethodView):
    @roles(Role.ADMIN)
    @blp.response(200, WebhookOut(many=True))
    def get(self) -> list[Any]:
        """Every registered endpoint (without its secret)."""
        return webhooks.listing(current_user())

    @roles(Role.ADMIN)
    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookCreatedOut)
    def post(self, fields_in: dict[str, Any]) -> dict[str, Any]:
        """Register an endpoint for some events; the response holds its secret, once."""
        endpoint, secret = webhooks.create(current_user(), fields_in)
        return {**WebhookOut().dump(endpoint), "secret": secret, "created_at": endpoint.created_at}


@blp.route("/webhooks/<int:endpoint_id>")
class WebhookResource(MethodView):
    @roles(Role.ADMIN)
    @blp.response(200, WebhookOut)
    def get(self, endpoint_id: int) -> Any:
        """One endpoint (without its secret)."""
        return webhooks.get(current_user(), endpoint_id)

    @roles(Role.ADMIN)
    @blp.response(200, WebhookOut)
    def delete(self, endpoint_id: int) -> Any:
        """Disable the endpoint: nothing more is sent to it; its history is kept."""
        return webhooks.disable(current_user(), endpoint_id)


@blp.route("/webhooks/<int:endpoint_id>/deliveries")
class WebhookDeliveries(MethodView):
    @roles(Role.ADMIN)
    @blp.response(200, DeliveryOut(many=True))
    def get(self, endpoint_id: int) -> list[Any]:
        """The endpoint's latest 100 deliveries, each with every attempt and its status."""
        return webhooks.deliveries(current_user(), endpoint_id)
