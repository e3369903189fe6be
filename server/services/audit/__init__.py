"""Tamper evidence: the append-only, hash-chained audit log.

Three jobs, three modules: `snapshots` (what is recorded of each audited row, and which
columns are exempt, and why), `recording` (the `record_*` calls services make inside their
transactions, appended at commit by hooks `create_app` registers) and `verification`
(`audit verify`: the chain, then every audited row and photo against it). The names
services and the command line use are re-exported here.
"""

from server.services.audit.hashing import (
    CLI_ACTOR,
    canonical_json,
    entry_hash,
    entry_hash_of,
    sha256_hex,
)
from server.services.audit.recording import (
    AUDIT_COUNTER,
    CHECKPOINT_ACTION,
    chain_of,
    record_action,
    record_checklist,
    record_checkpoint,
    record_created,
    record_finding,
    record_import,
    record_notice,
    record_photo,
    record_registry,
    record_review,
    record_revision,
    record_user,
    register_hooks,
)
from server.services.audit.snapshots import (
    ENTERPRISE_FIELDS,
    EXEMPT,
    FORMAT_VERSION,
    KIND_OF_MODEL,
    KINDS,
    PHOTO_KINDS,
    SITE_FIELDS,
    Kind,
    covered_columns,
)
from server.services.audit.verification import Problem, Report, entries, head, verify

__all__ = [
    "AUDIT_COUNTER",
    "CHECKPOINT_ACTION",
    "CLI_ACTOR",
    "ENTERPRISE_FIELDS",
    "EXEMPT",
    "FORMAT_VERSION",
    "KINDS",
    "KIND_OF_MODEL",
    "PHOTO_KINDS",
    "SITE_FIELDS",
    "Kind",
    "Problem",
    "Report",
    "canonical_json",
    "chain_of",
    "covered_columns",
    "entries",
    "entry_hash",
    "entry_hash_of",
    "head",
    "record_action",
    "record_checklist",
    "record_checkpoint",
    "record_created",
    "record_finding",
    "record_import",
    "record_notice",
    "record_photo",
    "record_registry",
    "record_review",
    "record_revision",
    "record_user",
    "register_hooks",
    "sha256_hex",
    "verify",
]
