"""Server-rendered pages: supervisors under /review, enterprises under /portal, site labels.

Pages are plain Jinja templates and one stylesheet: no build step, no script needed to use
them, so they work on an office laptop and a tablet in the field alike.
"""

from __future__ import annotations

from flask import Flask, Response, request

from server.web.alert_pages import blp as alert_pages_blueprint
from server.web.draw_pages import blp as draw_pages_blueprint
from server.web.filters import register_filters
from server.web.portal import blp as portal_blueprint
from server.web.public import blp as public_blueprint
from server.web.qr import blp as qr_blueprint
from server.web.review import blp as review_blueprint
from server.web.session import PagesOnlySessionInterface
from server.web.task_pages import blp as task_pages_blueprint
from server.web.task_pages import clue_blp as clue_pages_blueprint
from server.web.webhook_pages import blp as webhook_pages_blueprint

# Pages load only their own stylesheet and images; nothing may frame them.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# JSON and files from the API are never documents to render.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The Swagger UI page needs its own inline bootstrap script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)


def security_headers(response: Response) -> Response:
    """Headers every response carries, whatever produced it."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/docs") or request.path.startswith("/api/static"):
        policy = DOCS_POLICY
    elif response.mimetype == "text/html":
        policy = PAGE_POLICY
    elif response.mimetype == "application/pdf":
        policy = None  # a policy on the document can keep the browser's PDF viewer from opening
    else:  # JSON, spreadsheets, photos, the stylesheet: nothing in them may load or run
        policy = API_POLICY
    if policy:
        headers.setdefault("Content-Security-Policy", policy)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_web(app: Flask) -> None:
    app.session_interface = PagesOnlySessionInterface()
    register_filters(app)
    app.register_blueprint(qr_blueprint)
    app.register_blueprint(review_blueprint)
    app.register_blueprint(alert_pages_blueprint)
    app.register_blueprint(draw_pages_blueprint)
    app.register_blueprint(task_pages_blueprint)
    app.register_blueprint(clue_pages_blueprint)
    app.register_blueprint(portal_blueprint)
    app.register_blueprint(public_blueprint)
    app.register_blueprint(webhook_pages_blueprint)
    app.after_request(security_headers)
