"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from server.models.alert import Alert, AlertLevel, ReductionList
from server.models.audit import GENESIS_HASH, AuditEntry
from server.models.checklist import ChecklistVersion
from server.models.draw import Draw, DrawStatus, InspectorConflict
from server.models.finding import (
    UNRESOLVED,
    VISIBLE_TO_ENTERPRISE,
    Finding,
    FindingEvent,
    FindingResponse,
    FindingStatus,
    Notice,
    ResponsePhoto,
)
from server.models.inspection import (
    Answer,
    AnswerPhoto,
    Inspection,
    InspectionReview,
    InspectionRevision,
    InspectionStatus,
    ReviewDecision,
)
from server.models.notify import (
    Notification,
    OutboxEvent,
    SendStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from server.models.photo import Photo, PhotoUpload, Upload
from server.models.registry import ChangeCounter, Enterprise, Site
from server.models.task import (
    Clue,
    ClueKind,
    ClueStatus,
    Task,
    TaskInspector,
    TaskReason,
    TaskSite,
    TaskStatus,
)
from server.models.types import utcnow
from server.models.user import ApiToken, Role, User

__all__ = [
    "GENESIS_HASH",
    "UNRESOLVED",
    "VISIBLE_TO_ENTERPRISE",
    "Alert",
    "AlertLevel",
    "Answer",
    "AnswerPhoto",
    "ApiToken",
    "AuditEntry",
    "ChangeCounter",
    "ChecklistVersion",
    "Clue",
    "ClueKind",
    "ClueStatus",
    "Draw",
    "DrawStatus",
    "Enterprise",
    "Finding",
    "FindingEvent",
    "FindingResponse",
    "FindingStatus",
    "Inspection",
    "InspectionReview",
    "InspectionRevision",
    "InspectionStatus",
    "InspectorConflict",
    "Notice",
    "Notification",
    "OutboxEvent",
    "Photo",
    "PhotoUpload",
    "ReductionList",
    "ResponsePhoto",
    "ReviewDecision",
    "Role",
    "SendStatus",
    "Site",
    "Task",
    "TaskInspector",
    "TaskReason",
    "TaskSite",
    "TaskStatus",
    "Upload",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "utcnow",
]
