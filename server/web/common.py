"""What the supervisor pages and the enterprise portal share: forms, errors, login, photos."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from http import HTTPStatus
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from server.http_common.disposition import inline_pdf
from server.http_common.extensions import csrf
from server.http_common.public_url import public_url
from server.http_common.throttle import TOO_MANY_FAILED_LOGINS, login_throttle
from server.models import Inspection, Notice, User
from server.services import (
    accounts,
    inspections,
    lookup,
    notices,
    photo_access,
    photos,
    thumbnails,
)
from server.services.errors import DomainError, ErrorCode, NotFound, Unauthorized
from server.web.session import F, landing, safe_next, sign_in, sign_out, signed_in_user, web_user

PAGE_MESSAGES = {
    400: "请求有误 / bad request",
    403: "无权访问此页面 / you may not open this page",
    404: "页面不存在 / page not found",
    405: "不支持此操作 / method not allowed",
    413: "上传内容过大 / upload too large",
    429: TOO_MANY_FAILED_LOGINS,
}


def error_page(status: int, message: str, errors: dict[str, Any] | None = None) -> Response:
    body = render_template(
        "error.html",
        status=status,
        phrase=HTTPStatus(status).phrase,
        message=message,
        errors=errors or {},
    )
    return Response(body, status=status, mimetype="text/html")


def _domain_error(error: DomainError) -> ResponseReturnValue:
    return error_page(error.status, error.message, error.errors)


def _http_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if isinstance(error, CSRFError):
        return error_page(400, "表单已过期，请返回刷新后重试 / the form expired; reload and retry")
    description = error.description if code == 429 else None
    return error_page(code, description or PAGE_MESSAGES.get(code, error.description or ""))


def _check_csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def setup_blueprint(blp: Blueprint) -> None:
    """CSRF on every form post, and errors as pages rather than JSON."""
    blp.before_request(_check_csrf)
    blp.register_error_handler(DomainError, _domain_error)
    blp.register_error_handler(HTTPException, _http_error)


def login_view(area: str) -> ResponseReturnValue:
    """The login form of an area; a refused login answers 401 and counts against the limit."""
    wanted = safe_next(request.values.get("next"))
    if request.method == "GET":
        user = signed_in_user()
        if user is not None:
            return redirect(landing(user, wanted))
        return render_template("login.html", area=area, next=wanted, username="")
    username = accounts.normalise_username(request.form.get("username", ""))
    try:
        user = sign_in(username, request.form.get("password", ""))
    except Unauthorized as error:
        page = render_template(
            "login.html", area=area, next=wanted, username=username, error=error.message
        )
        return Response(page, status=401, mimetype="text/html")
    return redirect(landing(user, wanted))


def logout_view(area: str) -> ResponseReturnValue:
    sign_out()
    flash("已退出 / signed out")
    return redirect(url_for(f"{area}.login"))


def photo_view(user: User, sha256: str, preview: bool) -> Response:
    """A photo the user may see, full size or as a preview; 404 for anything else."""
    photo = photo_access.readable_photo(user, sha256)
    if photo is None:
        raise NotFound(ErrorCode.PHOTO_NOT_FOUND, f"照片不存在 / no photo {sha256}")
    if preview:
        data, mimetype = thumbnails.preview(photos.current_store(), sha256), "image/jpeg"
    else:
        data, mimetype = photos.read(photos.current_store(), sha256), photo.content_type
    return Response(
        data,
        mimetype=mimetype,
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


def parse_date(raw: str | None, field: str, errors: dict[str, list[str]]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = [f"日期格式应为 YYYY-MM-DD / not a date: {raw!r}"]
        return None


def add_area_routes(blp: Blueprint, area: str, guard: Callable[[F], F]) -> None:
    """The routes every area has: its login and logout, and photos for its signed-in users."""

    def login() -> ResponseReturnValue:
        return login_view(area)

    def logout() -> ResponseReturnValue:
        return logout_view(area)

    def photo(sha256: str) -> Response:
        return photo_view(web_user(), sha256, preview=False)

    def photo_preview(sha256: str) -> Response:
        return photo_view(web_user(), sha256, preview=True)

    blp.add_url_rule("/login", "login", login_throttle(login), methods=["GET", "POST"])
    blp.add_url_rule("/logout", "logout", logout, methods=["POST"])
    blp.add_url_rule("/photos/<string:sha256>", "photo", guard(photo))
    blp.add_url_rule("/photos/<string:sha256>/preview", "photo_preview", guard(photo_preview))


def pdf_response(notice: Notice) -> Response:
    """The printable notice, opened in the browser rather than downloaded."""
    data = notices.pdf(notice, public_url(), photos.current_store())
    return inline_pdf(data, f"notice-{notice.id}.pdf")


def record_pdf_response(record: Inspection) -> Response:
    """The on-site record (现场检查笔录) of an inspection the caller may read."""
    data = inspections.record_pdf(record, public_url(), photos.current_store())
    return inline_pdf(data, f"record-{record.uuid}.pdf")


def by_id(model: Any, ids: set[int]) -> dict[int, Any]:
    """Rows of a model by id, in one query, for pages that name many of them."""
    return lookup.by_id(model, ids)
