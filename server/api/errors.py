"""One place that turns domain errors into HTTP responses, in flask-smorest's error shape.

Every error body is `{"code", "status", "error", "message", "errors"?}`: `code` and
`status` are the HTTP status and its phrase, the shape flask-smorest uses for its own 4xx
(validation 422, 304/412 ETag errors), so clients parse one form; `error` is the stable
machine code from `server.services.errors.ErrorCode`, which clients branch on.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from server.services.errors import DomainError, ErrorCode, Unauthorized, generic_code


def error_body(code: int, error: ErrorCode, message: str, errors: dict | None = None) -> dict:
    body: dict = {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "error": error.value,
        "message": message,
    }
    if errors:
        body["errors"] = errors
    return body


def _domain_error(error: DomainError) -> ResponseReturnValue:
    response = jsonify(error_body(error.status, error.code, error.message, error.errors))
    response.status_code = error.status
    response.headers.update(error.headers)
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="lantian"'
    return response


def _http_error(error: HTTPException) -> ResponseReturnValue:
    """Werkzeug's own errors (404 route, 405, 413 body too large) as JSON too; an exception
    that carries its own response (a 304 with its ETag) is answered with it."""
    if error.response is not None:
        return error.response
    code = error.code or 500
    messages = {
        400: "请求有误 / bad request",
        404: "资源不存在 / not found",
        405: "不支持此方法 / method not allowed",
        412: "资源已变化 / precondition failed: the resource has changed",
        413: "请求体过大 / request body too large",
        415: "不支持的媒体类型 / unsupported media type",
        422: "内容有误，见 errors / invalid input: see errors",
        428: "需要 If-Match / precondition required: send If-Match",
    }
    data = getattr(error, "data", None) or {}
    errors = data.get("messages") if isinstance(data, dict) else None
    message = data.get("message") if isinstance(data, dict) and data.get("message") else None
    response = jsonify(
        error_body(
            code,
            generic_code(code),
            message or messages.get(code, error.description or ""),
            errors,
        )
    )
    response.status_code = code
    for key, value in error.get_headers() or []:
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
