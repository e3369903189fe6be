"""Receiving inspections from devices: idempotent, validated, evaluated by the server itself.

The device's id is the primary key, so the same inspection sent any number of times is
stored once. The body is reduced to canonical JSON and hashed: an identical resend is a
success that changes nothing, a different body under a stored id is a conflict, never a
silent overwrite.
"""

from __future__ import annotations

import hashlib
import json
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

import checklists as rules
from checklists.evaluate import served_items, waiting_on
from checklists.scope import Scope
from server.extensions import db
from server.models import (
    Answer,
    AnswerPhoto,
    Enterprise,
    Finding,
    FindingStatus,
    Inspection,
    InspectionRevision,
    InspectionStatus,
    Photo,
    Role,
    Site,
    User,
    utcnow,
)
from server.services import audit, inspection_rows, law, outbox, photo_access, record_checks
from server.services import checklists as checklist_store
from server.services.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from server.services.lifecycles import finding as finding_lifecycle
from server.services.lifecycles import review as review_lifecycle
from server.services.lifecycles import task as task_lifecycle
from server.services.registry import visible_city
from server.services.timeutil import iso_utc, local_date
from server.storage import PhotoStore, check_hash


def canonical_record(record: dict[str, Any]) -> dict[str, Any]:
    """The signed on-site record in one normal form (every person with every field)."""

    def person(raw: dict[str, Any] | None) -> dict[str, str] | None:
        if raw is None:
            return None
        normal = {key: raw.get(key) or "" for key in ("name", "badge", "position", "phone")}
        if raw.get("username"):  # only when named, so a record without one hashes as before
            normal["username"] = raw["username"]
        return normal

    return {
        "inspectors": [person(p) for p in record["inspectors"]],
        "representative": person(record.get("representative")),
        "representative_signature": record.get("representative_signature"),
        "refused": bool(record.get("refused")),
        "witness": person(record.get("witness")),
        "witness_signature": record.get("witness_signature"),
        "inspector_signatures": list(record["inspector_signatures"]),
        "signed_at": iso_utc(record["signed_at"]),
    }


def canonical_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The body in one normal form: UTC times, answers in the order sent, no absent keys.

    `record` (the signed on-site record) appears only when sent, so a body without one
    hashes as it always did."""
    body = _canonical_inspection(payload)
    if payload.get("record") is not None:
        body["record"] = canonical_record(payload["record"])
    if payload.get("positions") is not None:
        body["positions"] = canonical_positions(payload["positions"])
    return body


def canonical_positions(positions: dict[str, Any]) -> dict[str, Any]:
    """The device's positions in one normal form (photos by hash, every field present)."""

    def one(raw: dict[str, Any] | None) -> dict[str, Any] | None:
        if raw is None:
            return None
        return {key: raw.get(key) for key in ("status", "lat", "lon", "accuracy_m")}

    return {
        "inspection": one(positions.get("inspection")),
        "photos": {sha: one(raw) for sha, raw in sorted((positions.get("photos") or {}).items())},
    }


def _positions_problems(body: dict[str, Any]) -> dict[str, Any]:
    """A device position may be given only for a photo the inspection cites."""
    positions = body.get("positions")
    if positions is None:
        return {}
    cited = {sha for answer in body["answers"] for sha in answer["photos"]}
    stray = sorted(set(positions["photos"]) - cited)
    if not stray:
        return {}
    return {
        "positions": {
            "photos": [f"检查未引用此照片 / the inspection cites no photo {sha}" for sha in stray]
        }
    }


def _canonical_inspection(payload: dict[str, Any]) -> dict[str, Any]:
    location = payload.get("location")
    return {
        "site_id": payload["site_id"],
        "checklist_id": payload["checklist_id"],
        "checklist_version": payload["checklist_version"],
        "started_at": iso_utc(payload["started_at"]),
        "finished_at": iso_utc(payload["finished_at"]),
        "device_time": iso_utc(payload["device_time"]),
        "location": None
        if location is None
        else {
            "lat": location["lat"],
            "lon": location["lon"],
            "accuracy_m": location.get("accuracy_m"),
        },
        "answers": [
            {
                "item": answer["item"],
                "value": answer.get("value"),
                "note": answer.get("note") or "",
                "photos": list(answer.get("photos") or []),
            }
            for answer in payload["answers"]
        ],
    }


def body_text(body: dict[str, Any]) -> str:
    """The canonical JSON of a body: what its hash is taken of, and what the audit entry
    records of it (the same text as `audit.canonical_json`)."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def body_hash(body: dict[str, Any], text: str | None = None) -> str:
    """SHA-256 of the body's canonical JSON (`text`, when the caller has made it already)."""
    encoded = body_text(body) if text is None else text
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def describe_difference(stored: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """Which parts of a resent body differ from what is stored, for a useful 409."""
    differences = [
        key
        for key in sorted(set(stored) | set(sent))
        if key != "answers" and stored.get(key) != sent.get(key)
    ]
    old = {answer["item"]: answer for answer in stored.get("answers", [])}
    new = {answer["item"]: answer for answer in sent.get("answers", [])}
    for item in sorted(set(old) | set(new)):
        if item not in old or item not in new:
            differences.append(f"answers[{item}] added or removed")
            continue
        differences.extend(
            f"answers[{item}].{field}"
            for field in ("value", "note", "photos")
            if old[item].get(field) != new[item].get(field)
        )
    return differences


# When an inspection can plausibly have taken place: not before this date (China time; the
# plans date from the 2010s and no device predates 2000), and not more than a day ahead of
# the server's clock (a device clock a few hours fast is common; a year 0001 or 2999 one is
# a broken clock or a forged body, and would be filed under an impossible day).
EARLIEST_INSPECTION_DAY = date(2000, 1, 1)
LATEST_AHEAD = timedelta(days=1)


def _implausible_times(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """The start and end of an inspection outside the plausible window, by field."""
    latest = utcnow() + LATEST_AHEAD
    errors: dict[str, list[str]] = {}
    for field in ("started_at", "finished_at"):
        moment = raw[field]
        if moment > latest:
            errors[field] = [
                "不能晚于服务器时间一天以上 / more than a day ahead of the server clock"
            ]
        elif local_date(moment) < EARLIEST_INSPECTION_DAY:
            errors[field] = [
                f"不能早于{EARLIEST_INSPECTION_DAY.isoformat()} / implausible: before "
                f"{EARLIEST_INSPECTION_DAY.isoformat()} (China time)"
            ]
    return errors


@dataclass
class Evaluated:
    """A validated inspection body with the server's verdict for every answer."""

    site: Site
    checklist: rules.Checklist
    verdicts: dict[str, rules.Verdict]
    scope: Scope


# The site with its enterprise in one query; the enterprise's reduction list (loaded with it
# by default, a second query) plays no part in judging an inspection. Built once with a bound
# id: `session.get(..., options=...)` builds a new statement and its cache key each time,
# which cost a PUT more than the query itself (issue 18).
_SITE_WITH_ENTERPRISE = (
    select(Site)
    .options(joinedload(Site.enterprise).lazyload(Enterprise.reduction_list))
    .where(Site.id == bindparam("site_id"))
)


def _site(site_id: int) -> Site | None:
    """The site with its enterprise (one query), or None."""
    return db.session.execute(_SITE_WITH_ENTERPRISE, {"site_id": site_id}).scalar_one_or_none()


def _validate(user: User, body: dict[str, Any], raw: dict[str, Any]) -> Evaluated:
    errors: dict[str, Any] = {}
    # The enterprise's city is read below, for the scope and the rules: one query for both.
    site = _site(body["site_id"])
    scope = visible_city(user)
    if site is None or not site.active or (scope and site.enterprise.city != scope):
        errors["site_id"] = [f"场所不存在 / unknown site {body['site_id']}"]
    try:
        checklist = checklist_store.get_rules(body["checklist_id"], body["checklist_version"])
    except NotFound as error:
        errors["checklist_version"] = [error.message]
        raise Invalid(
            ErrorCode.INSPECTION_INVALID, "检查记录有误 / invalid inspection", errors
        ) from None
    if site is not None and "site_id" not in errors and site.kind not in checklist.site_kinds:
        errors["checklist_id"] = [
            f"检查表不适用于此类场所 / checklist {checklist.id} does not apply to "
            f"{site.kind} sites (applies to {', '.join(checklist.site_kinds)})"
        ]
    if raw["finished_at"] < raw["started_at"]:
        errors["finished_at"] = ["结束时间早于开始时间 / finished before it started"]
    if implausible := _implausible_times(raw):
        # Refused at once: the rules below date the inspection by its start.
        raise Invalid(
            ErrorCode.INSPECTION_INVALID,
            "检查记录有误 / invalid inspection",
            {**errors, **implausible},
        )
    answer_errors: dict[str, dict[str, list[str]]] = {}
    values: dict[str, Any] = {}
    # The law it is judged under: the plans governing the site's city on the local date.
    scope = law.judging_scope(site, raw["started_at"]) if site is not None else None
    served = {item.code for item in served_items(checklist, scope)} if scope is not None else set()
    for index, answer in enumerate(body["answers"]):
        problems: dict[str, list[str]] = {}
        item = checklist.item(answer["item"])
        if item is None:
            problems["item"] = [f"检查表中无此项 / unknown item {answer['item']!r}"]
        elif answer["item"] in values:
            problems["item"] = [f"重复作答 / item {answer['item']} answered twice"]
        elif scope is not None and item.code not in served:
            problems["item"] = [
                f"此项在该场所所在城市当日无现行计划依据 / item {item.code} is not in force "
                f"for this site on {scope.on.isoformat()}"
            ]
        else:
            try:
                rules.check_value(item, answer["value"])
                values[answer["item"]] = answer["value"]
            except rules.AnswerError as error:
                problems["value"] = [str(error)]
        for sha in answer["photos"]:
            try:
                check_hash(sha)
            except ValueError:
                problems.setdefault("photos", []).append(f"不是SHA-256 / not a SHA-256: {sha!r}")
        if problems:
            answer_errors[str(index)] = problems
    verdicts: dict[str, rules.Verdict] = {}
    if not answer_errors and scope is not None:
        results = rules.evaluate_all(checklist, values, scope)
        failing = (rules.Verdict.NON_COMPLIANT, rules.Verdict.DUE, rules.Verdict.OBSERVATION)
        for index, answer in enumerate(body["answers"]):
            result = results[answer["item"]]
            verdicts[answer["item"]] = result.verdict
            if result.applicable is None and result.verdict in failing:
                # Whether it binds this site depends on an answer not given: no finding may
                # rest on a condition nobody checked.
                needed = ", ".join(waiting_on(checklist, answer["item"], values))
                answer_errors[str(index)] = {
                    "item": [
                        f"此项是否适用取决于尚未回答的项目 {needed} / whether {answer['item']} "
                        f"applies depends on {needed}: answer it too"
                    ]
                }
                continue
            if result.needs_photo and not answer["photos"]:
                answer_errors[str(index)] = {
                    "photos": [
                        "此项须附照片证据 / this item needs photo evidence "
                        f"({checklist.item(answer['item']).evidence.value})"  # type: ignore[union-attr]
                    ]
                }
    if answer_errors:
        errors["answers"] = answer_errors
    errors.update(record_checks.problems(user, site, body))
    errors.update(_positions_problems(body))
    if errors:
        raise Invalid(ErrorCode.INSPECTION_INVALID, "检查记录有误 / invalid inspection", errors)
    assert site is not None and scope is not None
    return Evaluated(site=site, checklist=checklist, verdicts=verdicts, scope=scope)


class _RevisedMeanwhile(Exception):
    """Another request stored a revision of this inspection between our read and our move."""


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    REVISED = "revised"


def _existing_outcome(
    user: User,
    inspection: Inspection,
    digest: str,
    body: dict[str, Any],
    raw: dict[str, Any],
    if_match: str | None,
    device_clock: datetime | None = None,
) -> Outcome:
    """A body sent under an id that is already stored: resend, revision, or conflict."""
    if inspection.inspector_id != user.id:
        raise Conflict(
            ErrorCode.INSPECTION_NOT_OWNER,
            "此检查编号属于其他检查员 / this inspection id belongs to another inspector",
        )
    latest = inspection.revisions[-1]
    if latest.body_hash == digest:
        if latest.number != inspection.revision:
            # The revisions were read after another request stored this very revision, the
            # inspection before: read it again, so the answer shows what is stored now.
            db.session.refresh(inspection)
        return Outcome.UNCHANGED
    if if_match is None:
        hint = ""
        if inspection.status == InspectionStatus.RETURNED:
            hint = f'; to revise the returned inspection send If-Match: "{inspection.etag}"'
        raise Conflict(
            ErrorCode.INSPECTION_CONFLICT,
            "该检查已提交，内容不同，不能覆盖 / this inspection was already submitted with a "
            f"different body; it is never overwritten{hint}",
            {"differences": describe_difference(latest.body, body), "revision": latest.number},
        )
    if if_match != inspection.etag or inspection.status != InspectionStatus.RETURNED:
        raise PreconditionFailed(
            ErrorCode.INSPECTION_STALE_REVISION,
            "修订依据的版本已过时 / the revision you amend is not the current returned one "
            f"(current: {inspection.etag}, status {inspection.status})",
            {"current_etag": inspection.etag, "status": inspection.status},
        )
    if body["site_id"] != latest.body["site_id"] or (
        body["checklist_id"] != latest.body["checklist_id"]
    ):
        raise Invalid(
            ErrorCode.INSPECTION_INVALID,
            "修订不能更换场所或检查表 / a revision keeps its site and checklist",
            {"site_id": ["must stay the same"], "checklist_id": ["must stay the same"]},
        )
    evaluated = _validate(user, body, raw)
    _store_revision(user, inspection, body, digest, raw, evaluated, device_clock)
    return Outcome.REVISED


def _set_times_and_place(
    inspection: Inspection, raw: dict[str, Any], device_clock: datetime | None
) -> None:
    location = raw.get("location") or {}
    # How far the device's clock was from ours as this revision arrived (None: not sent).
    inspection.clock_skew_s = (
        None if device_clock is None else round((utcnow() - device_clock).total_seconds(), 1)
    )
    inspection.started_at = raw["started_at"]
    inspection.finished_at = raw["finished_at"]
    inspection.device_time = raw["device_time"]
    inspection.lat = location.get("lat")
    inspection.lon = location.get("lon")
    inspection.accuracy_m = location.get("accuracy_m")


def _open_findings(inspection: Inspection) -> dict[str, Finding]:
    query = select(Finding).where(
        Finding.inspection_uuid == inspection.uuid, Finding.status == FindingStatus.OPEN.value
    )
    return {finding.item_code: finding for finding in db.session.scalars(query)}


def _store_revision(
    user: User,
    inspection: Inspection,
    body: dict[str, Any],
    digest: str,
    raw: dict[str, Any],
    evaluated: Evaluated,
    device_clock: datetime | None,
) -> None:
    """Add a revision with its answers, and bring the findings in line with it.

    Open findings whose item still fails move to the new answer; those whose item now
    passes are withdrawn (kept, never deleted); newly failing items get new findings.
    """
    number = inspection.revisions[-1].number + 1 if inspection.revisions else 1
    if number > 1 and not review_lifecycle.claim_revision(inspection, number):
        raise _RevisedMeanwhile()
    existing = _open_findings(inspection) if number > 1 else {}
    inspection.revision = number
    inspection.checklist_version = evaluated.checklist.version
    inspection.scope = evaluated.scope.to_dict()
    _set_times_and_place(inspection, raw, device_clock)
    db.session.add(
        InspectionRevision(
            inspection=inspection,
            number=number,
            body=body,
            body_hash=digest,
            submitted_by=user.id,
        )
    )
    enterprise = evaluated.site.enterprise
    failing: set[str] = set()
    stored: list[Answer] = []
    new_findings: list[Finding] = []
    for position, answer in enumerate(body["answers"]):
        verdict = evaluated.verdicts[answer["item"]]
        row = Answer(
            inspection_uuid=inspection.uuid,
            revision_number=number,
            position=position,
            item_code=answer["item"],
            value=answer["value"],
            note=answer["note"],
            verdict=verdict.value,
        )
        if answer["photos"]:
            row.evidence = [
                AnswerPhoto(photo_sha256=sha, position=index)
                for index, sha in enumerate(dict.fromkeys(answer["photos"]))
            ]
        else:
            # Known empty, without the change tracking an assignment costs (~0.15 ms an
            # answer), so the audit snapshot does not query each new answer for its photos.
            set_committed_value(row, "evidence", [])
        db.session.add(row)
        stored.append(row)
        if verdict is not rules.Verdict.NON_COMPLIANT:
            continue
        failing.add(answer["item"])
        if answer["item"] in existing:
            existing[answer["item"]].answer = row
            continue
        item = evaluated.checklist.item(answer["item"])
        assert item is not None
        finding = Finding(
            inspection=inspection,
            answer=row,
            item_code=answer["item"],
            checklist_id=evaluated.checklist.id,
            severity=item.severity.value,
            days_to_rectify=item.days_to_rectify,
            enterprise_id=enterprise.id,
            site_id=evaluated.site.id,
            city=enterprise.city,
            district=enterprise.district,
        )
        db.session.add(finding)
        new_findings.append(finding)
    for code, finding in existing.items():
        if code not in failing:
            finding_lifecycle.withdraw(finding, user)
    # The current revision's answers are these rows, in order: known without a query. So
    # are a new inspection's findings: all made here, in answer order, as their ids will be.
    set_committed_value(inspection, "answers", stored)
    if number == 1:
        set_committed_value(inspection, "findings", new_findings)
    audit.record_revision(user, inspection)
    _submitted_event(inspection, number, evaluated)
    db.session.flush()


def _submitted_event(inspection: Inspection, number: int, evaluated: Evaluated) -> None:
    """`inspection.submitted` in the outbox, for mail and webhooks after the commit (a Core
    insert in this transaction: nothing here reads the row back)."""
    failing = sum(verdict is rules.Verdict.NON_COMPLIANT for verdict in evaluated.verdicts.values())
    outbox.insert_now(
        "inspection.submitted",
        {
            "inspection_id": str(inspection.uuid),
            "revision": number,
            "site_id": evaluated.site.id,
            "checklist_id": evaluated.checklist.id,
            "inspector_id": inspection.inspector_id,
            "findings": failing,
        },
    )


def _commit_keeping_state() -> None:
    """Commit without expiring what the session holds.

    A new inspection's rows were all made here, so what is in memory is what was stored;
    answering from it saves reloading the inspection, its answers and their photos (about a
    quarter of a PUT, bench/profile_notes.md). Everything else commits the usual way.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def submit(
    user: User,
    inspection_id: uuid_module.UUID,
    raw: dict[str, Any],
    if_match: str | None = None,
    device_clock: datetime | None = None,
) -> tuple[Inspection, Outcome]:
    """Store an inspection sent by a device, or a revision of a returned one.

    `if_match` names the returned revision being amended (the inspection's ETag);
    `device_clock` is the device's clock as it sent the request, kept as the skew with the
    revision it brings (a resend of the same body changes nothing).
    """
    if user.role != Role.INSPECTOR:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅检查员可提交检查 / only inspectors submit inspections"
        )
    body = canonical_body(raw)
    text = body_text(body)
    digest = body_hash(body, text)
    if if_match is None:
        # A device's first send, nearly always: validate and insert at once, without first
        # reading whether the id is stored. A resend or conflict shows up as the insert's
        # IntegrityError, or as a body that no longer validates, and is then answered from
        # what is stored, exactly as when the read came first.
        try:
            evaluated = _validate(user, body, raw)
        except Invalid:
            existing = db.session.get(Inspection, inspection_id)
            if existing is None:
                raise
            return existing, _existing_outcome(user, existing, digest, body, raw, None)
        try:
            inspection = inspection_rows.insert_first_revision(
                user,
                inspection_id,
                body,
                text,
                digest,
                raw,
                evaluated.site,
                evaluated.checklist,
                evaluated.verdicts,
                evaluated.scope.to_dict(),
                device_clock,
            )
            # In the same transaction: the event others hear of, and the open tasks this
            # inspection answers, fulfilled with it.
            _submitted_event(inspection, 1, evaluated)
            task_lifecycle.fulfil_from_inspection(user, inspection)
            _commit_keeping_state()
        except IntegrityError:
            # Stored already: before our insert, or by another request meanwhile.
            db.session.rollback()
            existing = db.session.get(Inspection, inspection_id)
            if existing is None:
                raise
            return existing, _existing_outcome(user, existing, digest, body, raw, None)
        return inspection, Outcome.CREATED
    existing = db.session.get(Inspection, inspection_id)
    if existing is None:
        raise PreconditionFailed(
            ErrorCode.INSPECTION_NOTHING_TO_REVISE,
            "没有可修订的检查 / there is no stored inspection to revise under this id",
        )
    try:
        outcome = _existing_outcome(user, existing, digest, body, raw, if_match, device_clock)
    except _RevisedMeanwhile:
        # The same revision sent twice at once: answer this one as a resend of what is
        # stored now (200 if identical, else 409/412), never a second revision.
        db.session.rollback()
        existing = db.session.get(Inspection, inspection_id)
        assert existing is not None
        outcome = _existing_outcome(user, existing, digest, body, raw, if_match, device_clock)
    if outcome is Outcome.REVISED:
        db.session.commit()
    return existing, outcome


def get_for(user: User, inspection_id: uuid_module.UUID) -> Inspection:
    """An inspection its reader may see: its inspector, supervisors of its city, admins."""
    inspection = db.session.get(Inspection, inspection_id)
    missing = NotFound(
        ErrorCode.INSPECTION_NOT_FOUND, f"检查记录不存在 / no inspection {inspection_id}"
    )
    if inspection is None:
        raise missing
    if user.role == Role.INSPECTOR and inspection.inspector_id != user.id:
        raise missing
    if user.role == Role.ENTERPRISE:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN,
            "企业用户不能查看检查记录 / enterprises do not read inspections",
        )
    scope = visible_city(user)
    if user.role == Role.SUPERVISOR and scope and inspection.site.enterprise.city != scope:
        raise missing
    return inspection


def record_for(user: User, inspection_id: uuid_module.UUID) -> Inspection:
    """An inspection whose on-site record (现场检查笔录) `user` may read.

    Staff read it as they read the inspection (`get_for`). An enterprise reads the record of
    an inspection at one of its own sites once a supervisor has approved it: its
    representative signed (or refused) it on site, and an approved record no longer changes.
    Anything else is a 404, so an enterprise learns nothing of other inspections."""
    if user.role != Role.ENTERPRISE:
        return get_for(user, inspection_id)
    inspection = db.session.get(Inspection, inspection_id)
    if (
        inspection is None
        or inspection.site.enterprise_id != user.enterprise_id
        or inspection.status != InspectionStatus.APPROVED
    ):
        raise NotFound(
            ErrorCode.INSPECTION_NOT_FOUND, f"检查记录不存在 / no inspection {inspection_id}"
        )
    return inspection


def stored_photos(inspection: Inspection) -> dict[str, Photo]:
    """The photos the inspection cites that its inspector has sent, by hash, in one query:
    what the missing photos and the evidence checks are both read from. A photo someone
    else sent counts as not arrived (`photo_access`)."""
    return photo_access.inspection_photos(inspection)


def missing_photos(inspection: Inspection, stored: Mapping[str, Photo]) -> list[str]:
    """Hashes the inspection cites that have not been uploaded yet (`stored`: its
    `stored_photos`)."""
    cited = dict.fromkeys(inspection.cited_photos + inspection.cited_signatures)
    return [sha for sha in cited if sha not in stored]


def findings_of(inspection: Inspection) -> list[Finding]:
    """Every finding of the inspection, open or not, oldest first."""
    return list(inspection.findings)


def record_pdf(inspection: Inspection, public_url: str, store: PhotoStore) -> bytes:
    """The 现场检查笔录 of the inspection's current revision, as a printable PDF."""
    from server.services.record_pdf import render

    checklist = checklist_store.get_rules(inspection.checklist_id, inspection.checklist_version)
    inspector = db.session.get(User, inspection.inspector_id)
    assert inspector is not None
    return render(inspection, checklist, inspector, public_url, store)
