"""Findings: the list supervisors work from, each finding's history, answers and 销号."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint, count_is_lower_bound
from server.api.schemas import FindingOut, FindingQuery, RecheckOut, ResponseIn, VerifyIn
from server.models import Finding, Role
from server.services import findings
from server.services.lifecycles import finding as finding_lifecycle

blp = Blueprint(
    "findings",
    __name__,
    url_prefix="/api/v1/findings",
    description="问题清单 / Findings and their rectification",
)
READERS = (Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR, Role.ENTERPRISE)


def present(finding: Finding) -> dict[str, Any]:
    """A finding as people read it, with what the caller may do with it now (`actions`)."""
    return {
        **findings.describe(finding),
        "actions": finding_lifecycle.actions(current_user(), finding),
    }


@blp.route("")
class Findings(MethodView):
    @roles(*READERS)
    @blp.arguments(FindingQuery, location="query")
    @blp.response(200, FindingOut(many=True))
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """Findings by status, city, district, checklist, severity, enterprise, overdue, dates.

        X-Pagination counts the matches up to a cap (10,000 by default): past it, `total` is
        the cap with `total_is_lower_bound: true` and no last page; `next_page` still says
        whether another page follows.
        """
        found = findings.page(
            current_user(),
            findings.FindingFilter(**query),
            pagination_parameters.page,
            pagination_parameters.page_size,
            current_app.config["FINDINGS_COUNT_CAP"],
        )
        pagination_parameters.item_count = found.total
        if found.total_is_lower_bound:
            count_is_lower_bound(pagination_parameters, has_next=found.has_next)
        return [present(row) for row in found.rows]


@blp.route("/to-recheck")
class FindingsToRecheck(MethodView):
    @roles(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)
    @blp.etag
    @blp.response(200, RecheckOut(many=True))
    def get(self) -> list[Finding]:
        """The unresolved findings at the sites of the caller's city, whoever found them: the
        device pulls them so a re-inspection of a site checks them again."""
        return findings.to_recheck(current_user())


@blp.route("/<int:finding_id>")
class FindingResource(MethodView):
    @roles(*READERS)
    @blp.response(200, FindingOut)
    def get(self, finding_id: int) -> dict[str, Any]:
        """One finding with the plan's words, the remedy, its history and the answers."""
        return present(findings.get(current_user(), finding_id))


@blp.route("/<int:finding_id>/responses")
class FindingResponses(MethodView):
    @roles(Role.ENTERPRISE)
    @blp.arguments(ResponseIn)
    @blp.response(201, FindingOut)
    @blp.alt_response(409, description="当前状态不能答复 / not waiting for an answer")
    def post(self, answer: dict[str, Any], finding_id: int) -> dict[str, Any]:
        """The enterprise's answer: what it did, with photos uploaded beforehand."""
        finding = finding_lifecycle.answer(
            current_user(), finding_id, answer["text"], answer["photos"]
        )
        return present(finding)


@blp.route("/<int:finding_id>/verify")
class FindingVerify(MethodView):
    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(VerifyIn)
    @blp.response(200, FindingOut)
    @blp.alt_response(409, description="尚未答复 / not answered yet")
    def post(self, decision: dict[str, Any], finding_id: int) -> dict[str, Any]:
        """Close (销号) an answered finding, or reopen it with the reason."""
        finding = finding_lifecycle.verify(
            current_user(), finding_id, decision["accepted"], decision["comment"]
        )
        return present(finding)
