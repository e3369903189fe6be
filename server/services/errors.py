"""Domain errors and the one table of their machine codes.

Services raise these; api/errors.py turns them into HTTP responses once. Every error carries
a stable machine code from `ErrorCode` (as ODK Central keeps every problem in
`lib/util/problem.js`): clients branch on the code, never on the HTTP status plus prose,
so the wording may change and the code may not. The code is a required argument, so a
raise site without one does not run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every machine code an error body can carry (`"error"` in the JSON body)."""

    # Generic: the request itself, as flask-smorest and werkzeug answer it too.
    REQUEST_INVALID = "request.invalid"
    REQUEST_MALFORMED = "request.malformed"
    REQUEST_NOT_FOUND = "request.not_found"
    REQUEST_METHOD_NOT_ALLOWED = "request.method_not_allowed"
    REQUEST_TOO_LARGE = "request.too_large"
    REQUEST_UNSUPPORTED_MEDIA = "request.unsupported_media"
    REQUEST_PRECONDITION_FAILED = "request.precondition_failed"
    REQUEST_PRECONDITION_REQUIRED = "request.precondition_required"
    REQUEST_CURSOR_INVALID = "request.cursor_invalid"
    REQUEST_FAILED = "request.failed"
    SERVER_ERROR = "server.error"
    # Who is asking.
    AUTH_REQUIRED = "auth.required"
    AUTH_BAD_CREDENTIALS = "auth.bad_credentials"
    AUTH_TOKEN_INVALID = "auth.token_invalid"
    AUTH_TOKEN_EXPIRED = "auth.token_expired"
    AUTH_ACCOUNT_DISABLED = "auth.account_disabled"
    AUTH_FORBIDDEN = "auth.forbidden"
    AUTH_RATE_LIMITED = "auth.rate_limited"
    # Accounts and the registry.
    USER_INVALID = "user.invalid"
    USER_NOT_FOUND = "user.not_found"
    ENTERPRISE_NOT_FOUND = "enterprise.not_found"
    SITE_NOT_FOUND = "site.not_found"
    REGISTRY_INVALID = "registry.invalid"
    REGISTRY_UNKNOWN_CITY = "registry.unknown_city"
    CHECKLIST_NOT_FOUND = "checklist.not_found"
    # Inspections and their review.
    INSPECTION_NOT_FOUND = "inspection.not_found"
    INSPECTION_INVALID = "inspection.invalid"
    INSPECTION_CONFLICT = "inspection.conflict"
    INSPECTION_NOT_OWNER = "inspection.not_owner"
    INSPECTION_STALE_REVISION = "inspection.stale_revision"
    INSPECTION_NOTHING_TO_REVISE = "inspection.nothing_to_revise"
    INSPECTION_NOT_REVIEWABLE = "inspection.not_reviewable"
    INSPECTION_DEVICE_TIME_INVALID = "inspection.device_time_invalid"
    # Findings and notices.
    FINDING_NOT_FOUND = "finding.not_found"
    FINDING_INVALID = "finding.invalid"
    FINDING_NOT_ANSWERABLE = "finding.not_answerable"
    FINDING_NOT_VERIFIABLE = "finding.not_verifiable"
    FINDING_CONFLICT = "finding.conflict"
    FINDING_VERIFICATION_PENDING = "finding.verification_pending"
    # Tasks and clues.
    TASK_NOT_FOUND = "task.not_found"
    TASK_INVALID = "task.invalid"
    TASK_NOT_OPEN = "task.not_open"
    TASK_STALE = "task.stale"
    TASK_RESERVED_REASON = "task.reserved_reason"
    TASK_INSPECTOR_TIED = "task.inspector_tied"
    TASK_DRAWN_INSPECTORS = "task.drawn_inspectors"
    CLUE_NOT_FOUND = "clue.not_found"
    CLUE_INVALID = "clue.invalid"
    CLUE_NOT_OPEN = "clue.not_open"
    ALERT_INVALID = "alert.invalid"
    ALERT_CONFLICT = "alert.conflict"
    REDUCTION_LIST_INVALID = "reduction_list.invalid"
    REDUCTION_LIST_CONFLICT = "reduction_list.conflict"
    REDUCTION_LIST_NOT_FOUND = "reduction_list.not_found"
    # 双随机 draws.
    DRAW_NOT_FOUND = "draw.not_found"
    DRAW_INVALID = "draw.invalid"
    DRAW_EMPTY_POPULATION = "draw.empty_population"
    DRAW_NOT_ENOUGH_INSPECTORS = "draw.not_enough_inspectors"
    DRAW_CONFLICT = "draw.conflict"
    DRAW_PENDING_EXISTS = "draw.pending_exists"
    DRAW_SITE_HAS_OPEN_TASK = "draw.site_has_open_task"
    DRAW_POOL_CHANGED = "draw.pool_changed"
    DRAW_NOT_PUBLISHED = "draw.not_published"
    NOTICE_NOT_FOUND = "notice.not_found"
    NOTICE_INVALID = "notice.invalid"
    NOTICE_FINDINGS_TAKEN = "notice.findings_taken"
    # Photos and resumable uploads.
    PHOTO_NOT_FOUND = "photo.not_found"
    PHOTO_NAME_INVALID = "photo.name_invalid"
    PHOTO_EMPTY = "photo.empty"
    PHOTO_HASH_MISMATCH = "photo.hash_mismatch"
    PHOTO_TOO_LARGE = "photo.too_large"
    PHOTO_UNREADABLE = "photo.unreadable"
    PHOTO_MISSING = "photo.missing"
    PHOTO_DECODER_BUSY = "photo.decoder_busy"
    UPLOAD_NOT_FOUND = "upload.not_found"
    UPLOAD_INVALID = "upload.invalid"
    UPLOAD_TOO_MANY_UNFINISHED = "upload.too_many_unfinished"
    UPLOAD_OFFSET_CONFLICT = "upload.offset_conflict"
    UPLOAD_TUS_VERSION = "upload.tus_version"
    # Webhooks.
    WEBHOOK_INVALID = "webhook.invalid"
    WEBHOOK_NOT_FOUND = "webhook.not_found"
    # Backups (CLI).
    BACKUP_INVALID = "backup.invalid"
    BACKUP_TAMPERED = "backup.tampered"
    BACKUP_TARGET_NOT_EMPTY = "backup.target_not_empty"


# The code of an error that did not come from a use case (werkzeug's or flask-smorest's own, a
# rate limit), by its HTTP status: such errors are about the request, not the domain.
GENERIC_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.REQUEST_MALFORMED,
    401: ErrorCode.AUTH_REQUIRED,
    403: ErrorCode.AUTH_FORBIDDEN,
    404: ErrorCode.REQUEST_NOT_FOUND,
    405: ErrorCode.REQUEST_METHOD_NOT_ALLOWED,
    412: ErrorCode.REQUEST_PRECONDITION_FAILED,
    413: ErrorCode.REQUEST_TOO_LARGE,
    415: ErrorCode.REQUEST_UNSUPPORTED_MEDIA,
    422: ErrorCode.REQUEST_INVALID,
    428: ErrorCode.REQUEST_PRECONDITION_REQUIRED,
    429: ErrorCode.AUTH_RATE_LIMITED,
    500: ErrorCode.SERVER_ERROR,
}


def generic_code(status: int) -> ErrorCode:
    """The machine code of an error raised outside the use cases, by its HTTP status."""
    if status in GENERIC_CODES:
        return GENERIC_CODES[status]
    return ErrorCode.SERVER_ERROR if status >= 500 else ErrorCode.REQUEST_FAILED


class DomainError(Exception):
    """Base of every error a use case can report to its caller."""

    status = 400

    def __init__(self, code: ErrorCode, message: str, errors: dict[str, Any] | None = None) -> None:
        if not isinstance(code, ErrorCode):
            raise TypeError(f"a DomainError needs an ErrorCode first, not {code!r}")
        super().__init__(message)
        self.code = code
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
