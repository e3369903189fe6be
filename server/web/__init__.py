"""Server-rendered pages (supervisors and enterprises come with the review loop)."""

from __future__ import annotations

from flask import Flask

from server.web.qr import blp as qr_blueprint


def init_web(app: Flask) -> None:
    app.register_blueprint(qr_blueprint)
