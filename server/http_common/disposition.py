"""Content-Disposition headers for files whose names come from stored text."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from flask import Response
from werkzeug.utils import secure_filename


def content_disposition(kind: Literal["inline", "attachment"], filename: str) -> str:
    """The header value per RFC 6266: a plain-ASCII `filename` for old clients and the exact
    name, percent-encoded UTF-8, as `filename*` (RFC 8187).

    A name with a quote or a line break (a site code from a registry CSV) pasted between
    quotes broke the header (werkzeug refuses a newline: a 500) or could add a header.
    """
    fallback = secure_filename(filename) or "download"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def inline_pdf(data: bytes, filename: str) -> Response:
    """A PDF opened in the browser rather than downloaded (notices, on-site records)."""
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition("inline", filename)},
    )
