"""Domain errors: services raise these; api/errors.py turns them into HTTP responses once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a use case can report to its caller."""

    status = 400

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        # Protocol headers the response must carry (e.g. where a resumable upload stands).
        self.headers: dict[str, str] = {}


class NotFound(DomainError):
    status = 404


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    status = 412


class Invalid(DomainError):
    """Input that is well-formed but breaks a rule; `errors` maps fields to messages."""

    status = 422


class BadRequest(DomainError):
    status = 400


class TooLarge(DomainError):
    status = 413


class UnsupportedMedia(DomainError):
    status = 415
