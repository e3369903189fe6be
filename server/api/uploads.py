"""tus 1.0 resumable uploads (core + creation + creation-with-upload) at /api/v1/uploads.

POST creates an upload from `Upload-Length` and the photo's SHA-256 in `Upload-Metadata`,
and may carry the first bytes (or all of them) as its body; HEAD says how many bytes the
server holds; PATCH appends from exactly there. Every body is written as it arrives, so a
connection cut mid-body keeps what came and the client resumes from there with one PATCH.
Any tus client (tuspy, tus-js-client) can upload evidence; small photos may use the PUT.

`Lantian-Resume: 1` on a POST (our client's extension, ignored by other servers) asks for
the caller's existing upload of the same photo and length instead of a new one: a client
whose creation-with-upload was cut off never saw its Location, and this is how it finds
the bytes that did arrive without a HEAD per photo.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.models import Role, Upload
from server.services import photo_access, photos, uploads
from server.services.errors import BadRequest, DomainError, ErrorCode, UnsupportedMedia

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload"
RESUME_HEADER = "Lantian-Resume"
OFFSET_STREAM = "application/offset+octet-stream"
blp = Blueprint(
    "uploads",
    __name__,
    url_prefix="/api/v1/uploads",
    description="断点续传 / Resumable photo uploads (tus 1.0: core + creation)",
)
TUS_HEADER = {
    "in": "header",
    "name": "Tus-Resumable",
    "required": True,
    "schema": {"type": "string", "enum": [TUS_VERSION]},
}


class TusVersionMismatch(DomainError):
    status = 412

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.UPLOAD_TUS_VERSION,
            f"需要 Tus-Resumable: {TUS_VERSION} / this server speaks tus {TUS_VERSION}",
        )
        self.headers = {"Tus-Version": TUS_VERSION}


@blp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    return response


def _require_tus() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise TusVersionMismatch()


def _exit_if_testing_a_crash() -> None:
    """TEST_EXIT_BEFORE_FINALISE: die here at once, with no cleanup, like a killed server."""
    if current_app.config.get("TEST_EXIT_BEFORE_FINALISE"):
        os._exit(70)


def _body(room: int) -> uploads.Body:
    """The request body, read as it arrives (see uploads.Body)."""
    return uploads.Body(request.stream.read, request.content_length, room)


@contextmanager
def _stall_limit() -> Iterator[None]:
    """While a body is read: a connection that brings no byte for UPLOAD_STALL_S counts as
    cut. gunicorn and werkzeug read without a time limit, so a half-open connection (the
    phone gone, no reset ever sent) would hold the upload's partial, locked, forever, and
    the client's resume would wait behind it."""
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    if sock is None:
        yield
        return
    before = sock.gettimeout()
    sock.settimeout(current_app.config["UPLOAD_STALL_S"])
    try:
        yield
    finally:
        with suppress(OSError):
            sock.settimeout(before)


def _int_header(name: str) -> int:
    try:
        value = int(request.headers[name])
    except (KeyError, ValueError):
        raise BadRequest(
            ErrorCode.UPLOAD_INVALID, f"需要整数头 {name} / the {name} header must be an integer"
        ) from None
    if value < 0:
        raise BadRequest(ErrorCode.UPLOAD_INVALID, f"{name} 不能为负 / {name} must not be negative")
    return value


@blp.route("")
class Uploads(MethodView):
    @blp.doc(security=[])
    @blp.response(204, description="服务器支持的 tus 版本与扩展 / what this tus server supports")
    def options(self) -> Response:
        """Discover the tus version, extensions and size limit (no token needed)."""
        return Response(
            status=204,
            headers={
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": TUS_EXTENSIONS,
                "Tus-Max-Size": str(current_app.config["MAX_PHOTO_BYTES"]),
            },
        )

    @roles(Role.INSPECTOR, Role.ENTERPRISE)
    @blp.doc(
        parameters=[
            TUS_HEADER,
            {
                "in": "header",
                "name": "Upload-Length",
                "required": True,
                "schema": {"type": "integer"},
            },
            {
                "in": "header",
                "name": "Upload-Metadata",
                "required": True,
                "schema": {"type": "string"},
                "description": "must carry `sha256 <base64 of the hex digest>`",
            },
            {
                "in": "header",
                "name": RESUME_HEADER,
                "required": False,
                "schema": {"type": "string", "enum": ["1"]},
                "description": "1: answer with the caller's existing upload of this photo "
                "and length (its Upload-Offset), or 200 when the photo is already held",
            },
        ],
        requestBody={
            "required": False,
            "content": {OFFSET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        },
    )
    @blp.response(201, description="已创建，见 Location / created: see Location")
    @blp.alt_response(200, description="照片已在服务器 / Lantian-Resume: the photo is held")
    @blp.alt_response(412, description="缺少 Tus-Resumable / not a tus 1.0 request")
    @blp.alt_response(413, description="超过大小上限 / larger than Tus-Max-Size")
    @blp.alt_response(429, description="未完成的上传过多 / too many unfinished uploads")
    def post(self) -> Response:
        """Create an upload for a photo of Upload-Length bytes with the given SHA-256; a
        body (Content-Type application/offset+octet-stream) is its first bytes."""
        _require_tus()
        user, store = current_user(), photos.current_store()
        length = _int_header("Upload-Length")
        metadata = uploads.parse_metadata(request.headers.get("Upload-Metadata"))
        expiry = timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"])
        limit = current_app.config["MAX_PHOTO_BYTES"]
        if request.headers.get(RESUME_HEADER) == "1":
            sha256 = photos.valid_hash(metadata.get("sha256", ""))
            if not photo_access.photos_to_send(store, user, [sha256]):
                return Response(status=200, headers={"Upload-Offset": str(length)})
            found = uploads.resumable(user, sha256, length, expiry)
            if found is not None:
                return _created(found, uploads.settle(store, user, found, limit))
        upload = uploads.create(
            user, length, metadata, limit, current_app.config["MAX_UNFINISHED_UPLOADS"], expiry
        )
        held = 0
        if request.mimetype == OFFSET_STREAM and request.content_length != 0:
            body = _body(length)
            with _stall_limit():
                if body.length:
                    held = uploads.append_body(store, upload, 0, body)
                elif data := b"".join(body):  # chunked: only a body that has bytes
                    held = uploads.append_chunk(store, upload, 0, data)
            if held == upload.length:
                _exit_if_testing_a_crash()
                uploads.finalise(store, user, upload, limit)
        return _created(upload, held)


def _created(upload: Upload, held: int) -> Response:
    return Response(
        status=201,
        headers={"Location": f"/api/v1/uploads/{upload.id}", "Upload-Offset": str(held)},
    )


@blp.route("/<string:upload_id>")
class UploadResource(MethodView):
    @roles(Role.INSPECTOR, Role.ENTERPRISE)
    @blp.doc(parameters=[TUS_HEADER])
    @blp.response(200, description="Upload-Offset 与 Upload-Length / where the upload stands")
    @blp.alt_response(404, description="无此上传 / unknown upload")
    def head(self, upload_id: str) -> Response:
        """How many bytes of the upload the server holds; a complete upload is finalised
        first (0 when its bytes fail the checks: start over)."""
        _require_tus()
        user = current_user()
        upload = uploads.get(user, upload_id)
        held = uploads.settle(
            photos.current_store(), user, upload, current_app.config["MAX_PHOTO_BYTES"]
        )
        return Response(
            status=200,
            headers={
                "Upload-Offset": str(held),
                "Upload-Length": str(upload.length),
            },
        )

    @roles(Role.INSPECTOR, Role.ENTERPRISE)
    @blp.doc(
        parameters=[
            TUS_HEADER,
            {
                "in": "header",
                "name": "Upload-Offset",
                "required": True,
                "schema": {"type": "integer"},
            },
        ],
        requestBody={
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        },
    )
    @blp.response(
        204, description="已追加；完成时照片已校验并存储 / appended; stored when complete"
    )
    @blp.alt_response(409, description="位置不符，见 Upload-Offset / offset mismatch")
    @blp.alt_response(415, description="须为 application/offset+octet-stream，或照片不可读")
    def patch(self, upload_id: str) -> Any:
        """Append bytes at Upload-Offset as they arrive (a body cut off on the way keeps
        what came); the completed photo is verified and stored. An empty PATCH at the end
        asks again for a complete upload to be finalised."""
        _require_tus()
        if request.mimetype != OFFSET_STREAM:
            raise UnsupportedMedia(
                ErrorCode.REQUEST_UNSUPPORTED_MEDIA,
                "须为 application/offset+octet-stream / PATCH needs Content-Type "
                "application/offset+octet-stream",
            )
        user, store = current_user(), photos.current_store()
        upload = uploads.get(user, upload_id)
        at = _int_header("Upload-Offset")
        with _stall_limit():
            held = uploads.append_body(store, upload, at, _body(upload.length - at))
        if held == upload.length and upload.completed_at is None:
            _exit_if_testing_a_crash()
            uploads.finalise(store, user, upload, current_app.config["MAX_PHOTO_BYTES"])
        return Response(status=204, headers={"Upload-Offset": str(held)})
