"""`lantian-field app`: the inspector's touch-screen app, served on 127.0.0.1.

A small Flask app over the very same data directory, store, photo pipeline and sync engine as
the CLI. Every page, script and style is served from this package, so after `login` and
`pull` it needs no network; every answer is committed to the store as it is given, so
closing the browser or killing the app loses nothing.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request

from field_client import record
from field_client.app import screens
from field_client.app.device import ensure_schema
from field_client.app.syncer import Syncer
from field_client.store import Store

DEFAULT_PORT = 8470
LOCAL_NAMES = {"127.0.0.1", "localhost"}
FOREIGN = "只接受本机应用页面的请求 / only the app's own pages may do this"
# Every page, script, style and photo comes from the app itself, and no other page may frame
# it: a site the inspector visits cannot overlay the app in an invisible frame and have the
# inspector's taps start a sync, remove a photo or sign a record (clickjacking). The Origin
# check below cannot catch that: a framed page's own forms post with the app's own origin.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Photos and pages are not for other origins to embed (<img> probes of evidence).
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": PAGE_POLICY,
}


def create_app(home: Path) -> Flask:
    """The app for one data directory; a store connection per request, closed after it."""
    from field_client.app.views import bp

    app = Flask(__name__)
    app.config["FIELD_HOME"] = home
    app.config["SECRET_KEY"] = secrets.token_hex(32)  # only for the message after a redirect
    app.config["MAX_CONTENT_LENGTH"] = 200 * 1024 * 1024
    app.extensions["field_syncer"] = Syncer(home)
    app.jinja_env.filters["local_time"] = screens.local_time
    app.jinja_env.filters["kind_label"] = screens.kind_label
    app.register_blueprint(bp)
    store = Store(home)
    try:
        ensure_schema(store)
        record.ensure_schema(store)
    finally:
        store.close()

    shutil.rmtree(home / "incoming", ignore_errors=True)  # uploads cut off by a kill

    @app.before_request
    def same_origin_only() -> Any:
        """Only the app's own pages may change anything: another site open in the same
        browser cannot post to 127.0.0.1 (CSRF), nor reach it under another name (DNS
        rebinding)."""
        if request.host.split(":")[0] not in LOCAL_NAMES:
            return render_template("error.html", error=FOREIGN), 403
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin and origin != request.host_url.rstrip("/"):
            return render_template("error.html", error=FOREIGN), 403
        return None

    @app.after_request
    def security_headers(response: Any) -> Any:
        """Headers every response carries: nothing may frame, sniff or embed the app."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(404)
    def not_found(_error: Exception) -> Any:
        return render_template("error.html", error="没有这一页 / no such page"), 404

    @app.teardown_appcontext
    def close_store(_error: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    return app


def serve(home: Path, port: int = DEFAULT_PORT, open_browser: bool = True) -> None:
    """Serve on 127.0.0.1 only (the device's own browser), threaded, until interrupted."""
    import threading
    import webbrowser

    app = create_app(home)
    url = f"http://127.0.0.1:{port}/"
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    app.run(host="127.0.0.1", port=port, threaded=True, debug=False, use_reloader=False)
