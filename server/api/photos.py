"""Photos by hash: ask first (HEAD, or one batch question), send only what is missing,
verified on arrival."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.schemas import MissingPhotosOut, PhotoOut, PhotoQuestionIn
from server.models import Role
from server.services import photo_access, photos
from server.services.errors import ErrorCode, NotFound, TooLarge

blp = Blueprint("photos", __name__, url_prefix="/api/v1/photos", description="照片 / Photos")
UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


# Uploaded bytes are decoded before they are kept, but a file can still be two things at
# once (text hidden in a JPEG comment): a browser must never sniff it into a page.
SERVE_AS_IMAGE_ONLY = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


@blp.route("/missing")
class MissingPhotos(MethodView):
    @roles(Role.INSPECTOR, Role.ENTERPRISE)
    @blp.arguments(PhotoQuestionIn)
    @blp.response(200, MissingPhotosOut)
    def post(self, question: dict[str, Any]) -> dict[str, Any]:
        """Which of these photos the server lacks: one question instead of a HEAD per photo.

        A photo is reported present only when `HEAD /api/v1/photos/{sha256}` would answer
        200 to the caller: stored completely, and one the caller may see (one they sent,
        or, for an inspector, one their inspections cite; for an enterprise, one of its
        visible findings or answers). Every other hash is reported missing, so the answer
        reveals nothing about photos the caller may not see; uploading such a photo again
        is harmless. Open to the roles that upload photos; at most 1000 hashes a question.
        """
        return {
            "missing": photo_access.photos_to_send(
                photos.current_store(), current_user(), question["sha256"]
            )
        }


@blp.route("/<string:sha256>")
class PhotoResource(MethodView):
    @roles(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN, Role.ENTERPRISE)
    @blp.response(200, description="照片 / the JPEG or PNG bytes", content_type="image/jpeg")
    @blp.alt_response(404, description="未上传 / not uploaded")
    def get(self, sha256: str) -> Response:
        """The photo's bytes (HEAD answers whether the server has it)."""
        photo = photo_access.readable_photo(current_user(), sha256)
        if photo is None or (
            request.method == "HEAD" and not photos.current_store().exists(sha256)
        ):
            if request.method == "HEAD":
                return Response(status=404)
            raise NotFound(ErrorCode.PHOTO_NOT_FOUND, f"照片不存在 / no photo {sha256}")
        if request.method == "HEAD":
            return Response(
                status=200, mimetype=photo.content_type, headers={"Content-Length": photo.size}
            )
        data = photos.read(photos.current_store(), sha256)
        return Response(
            data,
            mimetype=photo.content_type,
            headers={
                "Cache-Control": "private, max-age=31536000, immutable",
                "ETag": sha256,
                **SERVE_AS_IMAGE_ONLY,
            },
        )

    @roles(Role.INSPECTOR, Role.ENTERPRISE)
    @blp.doc(**UPLOAD_DOC)
    @blp.response(200, PhotoOut, description="已存在 / already stored")
    @blp.alt_response(201, schema=PhotoOut, description="新存储 / stored")
    @blp.alt_response(400, description="哈希不符 / bytes do not match the hash")
    @blp.alt_response(413, description="过大 / too large")
    @blp.alt_response(415, description="不是JPEG或PNG / not a JPEG or PNG")
    def put(self, sha256: str) -> tuple[Any, int]:
        """Upload a photo's bytes under their SHA-256."""
        limit = current_app.config["MAX_PHOTO_BYTES"]
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(ErrorCode.PHOTO_TOO_LARGE, f"照片过大 / photo larger than {limit} bytes")
        photo, sent, created = photos.receive(
            photos.current_store(), current_user(), sha256, request.get_data(cache=False), limit
        )
        # The time this caller sent it: the first sender's time would tell that one exists.
        mine = {field: getattr(photo, field) for field in PhotoOut().fields}
        return {**mine, "received_at": sent.received_at}, 201 if created else 200
