"""Sites: the change feed devices pull with a cursor, single sites and their QR labels."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.schemas import FeedQuery, OnQuery, SiteChecklistsOut, SiteOut, SitesPage
from server.http_common.disposition import content_disposition
from server.http_common.public_url import public_url
from server.models import Role
from server.services import labels, law, registry

blp = Blueprint("sites", __name__, url_prefix="/api/v1/sites", description="场所 / Sites")
FIELD_ROLES = (Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)


@blp.route("")
class Sites(MethodView):
    @roles(*FIELD_ROLES)
    @blp.etag
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, SitesPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Sites changed since the cursor, oldest change first; send `cursor` back as `since`."""
        items, cursor, has_more = registry.sites_since(
            current_user(), query.get("since"), query["limit"]
        )
        return {"items": items, "cursor": cursor, "has_more": has_more}


@blp.route("/<int:site_id>")
class SiteResource(MethodView):
    @roles(*FIELD_ROLES)
    @blp.response(200, SiteOut)
    def get(self, site_id: int) -> Any:
        """One site with its enterprise's name, credit code, city and district."""
        return registry.get_site(current_user(), site_id)


@blp.route("/<int:site_id>/checklists")
class SiteChecklists(MethodView):
    @roles(*FIELD_ROLES)
    @blp.arguments(OnQuery, location="query")
    @blp.response(200, SiteChecklistsOut)
    def get(self, query: dict[str, Any], site_id: int) -> dict[str, Any]:
        """The checklists and items that apply to this site today (or `?on=`), each item with
        its obligation there and only the quotes of plans governing the site's city."""
        site = registry.get_site(current_user(), site_id)
        return law.site_checklists_view(site, law.parse_on(query.get("on")))


@blp.route("/by-qr/<string:token>")
class SiteByQr(MethodView):
    @roles(*FIELD_ROLES)
    @blp.response(200, SiteOut)
    def get(self, token: str) -> Any:
        """The site a scanned label belongs to."""
        return registry.site_by_qr(current_user(), token)


@blp.route("/<int:site_id>/label.png")
class SiteLabel(MethodView):
    @roles(*FIELD_ROLES)
    @blp.response(200, description="PNG label", content_type="image/png")
    def get(self, site_id: int) -> Response:
        """A printable QR label; the code resolves the site."""
        site = registry.get_site(current_user(), site_id)
        png = labels.render_label(site, public_url())
        return Response(
            png,
            mimetype="image/png",
            headers={"Content-Disposition": content_disposition("inline", f"site-{site.code}.png")},
        )
