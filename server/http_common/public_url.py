"""The address people and phones reach this server at, for links and QR codes."""

from __future__ import annotations

from flask import current_app, has_request_context, request


def public_url() -> str:
    """`LANTIAN_PUBLIC_URL` when set (behind a proxy: the name people use); otherwise the
    scheme, host and port this request came to, so `PORT=5600 make run` prints links to
    :5600, not to the default port; outside a request, the configured fallback."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return str(configured).rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return str(current_app.config["PUBLIC_URL_FALLBACK"]).rstrip("/")
