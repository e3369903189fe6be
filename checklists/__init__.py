"""The rules: checklists derived from the municipal air-pollution plans.

Pure Python (no Flask, no SQLAlchemy) so that the server and the offline field client
load, validate and evaluate the very same rules.
"""

from checklists.errors import AnswerError, ChecklistError
from checklists.evaluate import (
    ItemResult,
    Missing,
    check_value,
    evaluate,
    evaluate_all,
    limit_in_force,
    missing_parts,
)
from checklists.loader import CHECKLISTS_DIR, content_version, load_all, load_file, parse_checklist
from checklists.model import (
    SITE_KINDS,
    AnswerType,
    Basis,
    Checklist,
    EvidenceRule,
    Item,
    Limit,
    Severity,
    Source,
    Text,
    Verdict,
)
from checklists.plausible import plausible_range
from checklists.sources import load_sources, quote_found

__all__ = [
    "CHECKLISTS_DIR",
    "SITE_KINDS",
    "AnswerError",
    "AnswerType",
    "Basis",
    "Checklist",
    "ChecklistError",
    "EvidenceRule",
    "Item",
    "ItemResult",
    "Limit",
    "Missing",
    "Severity",
    "Source",
    "Text",
    "Verdict",
    "check_value",
    "content_version",
    "evaluate",
    "evaluate_all",
    "limit_in_force",
    "load_all",
    "load_file",
    "load_sources",
    "missing_parts",
    "parse_checklist",
    "plausible_range",
    "quote_found",
]
