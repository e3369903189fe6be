"""Sync: push finished inspections and their photos exactly once, pull what changed.

Like kinto.js, every local record carries its sync state and every feed a cursor; a cursor
moves only in the same transaction as the data it covers, and an inspection is marked
synced only after the server confirmed the inspection and every photo it cites. Interrupt
it anywhere and run it again: the server's idempotent PUT and hash-named photos make the
repeat harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from field_client import record
from field_client.alerts import pull_alerts
from field_client.api import SyncApi
from field_client.capture import wire_body
from field_client.colleagues import pull_colleagues
from field_client.errors import FieldError, ServerRefused
from field_client.rechecks import pull_rechecks
from field_client.store import OUTBOX, Store
from field_client.tasks import pull_tasks

Progress = Callable[[str, int], None]
# Told the hash of each photo as the server confirms it, so counts survive a later failure.
Confirmed = Callable[[str], None]
# Photo uploads in flight at once across the whole shift (see push): enough to keep a
# slow link full while each waits for its answer, and the server's workers busy decoding.
PARALLEL_UPLOADS = 3


@dataclass
class PullReport:
    checklists_updated: list[str] = field(default_factory=list)
    sites_changed: int = 0
    returned: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    alerts_in_force: int = 0
    colleagues: int = 0
    to_recheck: int = 0
    open_tasks: int = 0


@dataclass
class PushReport:
    synced: list[str] = field(default_factory=list)
    # Photos sent and confirmed in this run, counted one by one as each is confirmed, so
    # a sync cut off halfway through an inspection still reports what went.
    photos_sent: int = 0
    # Photos the server already held (e.g. sent by a run that was cut off before it could
    # record them): they leave the outbox without being sent again.
    photos_already_there: int = 0
    refused: dict[str, str] = field(default_factory=dict)

    def photo_confirmed(self, _sha256: str) -> None:
        self.photos_sent += 1


def pull_checklists(store: Store, api: SyncApi) -> list[str]:
    """New checklist versions, fetched with If-None-Match so unchanged ones cost a 304."""
    listing, _ = api.get_json("/api/v1/checklists")
    known = store.checklist_etags()
    updated = []
    for summary in listing:
        have = known.get(summary["id"])
        if have and have[0] == summary["version"]:
            continue
        content, etag = api.get_json(
            f"/api/v1/checklists/{summary['id']}", etag=have[1] if have else None
        )
        if content is None:
            continue
        store.save_checklist(content, etag)
        updated.append(summary["id"])
    return updated


def pull_governance(store: Store, api: SyncApi) -> None:
    """Which plans govern which city from when, fetched with If-None-Match."""
    etag = store.meta("governance_etag") or None
    declaration, new_etag = api.get_json("/api/v1/governance", etag=etag)
    if declaration is not None:
        declaration.pop("digest", None)
        store.save_governance(declaration, new_etag)


def pull_sites(store: Store, api: SyncApi) -> int:
    """Sites changed since the stored cursor, one page per transaction."""
    changed = 0
    while True:
        page, _ = api.get_json("/api/v1/sites", params={"since": store.meta("sites_cursor", "")})
        store.save_sites(page["items"], page["cursor"])
        changed += len(page["items"])
        if not page["has_more"]:
            return changed


def pull_outcomes(store: Store, api: SyncApi, report: PullReport) -> None:
    """Review decisions: a returned inspection becomes editable again, with the comment."""
    while True:
        page, _ = api.get_json(
            "/api/v1/inspections/outcomes", params={"since": store.meta("outcomes_cursor", "")}
        )
        with store.transaction() as db:
            for outcome in page["items"]:
                row = db.execute(
                    "SELECT state, server_etag FROM inspections WHERE uuid = ?", (outcome["uuid"],)
                ).fetchone()
                if row is None:
                    continue  # made on another device
                if outcome["status"] == "returned":
                    if store.mark_returned(
                        db, outcome["uuid"], outcome["etag"], outcome["comment"]
                    ):
                        report.returned.append(outcome["uuid"])
                elif outcome["status"] == "approved":
                    store.note_approved(db, outcome["uuid"], outcome["comment"])
                    report.approved.append(outcome["uuid"])
            store.set_meta("outcomes_cursor", page["cursor"], db)
        if not page["has_more"]:
            return


def pull(store: Store, api: SyncApi) -> PullReport:
    report = PullReport()
    pull_governance(store, api)
    report.checklists_updated = pull_checklists(store, api)
    report.sites_changed = pull_sites(store, api)
    report.alerts_in_force = pull_alerts(store, api)
    report.colleagues = pull_colleagues(store, api)
    report.to_recheck = pull_rechecks(store, api)
    report.open_tasks = pull_tasks(store, api)
    pull_outcomes(store, api, report)
    return report


def ask_missing(store: Store, api: SyncApi, report: PushReport | None = None) -> bool:
    """One question (in chunks) for every photo the outbox cites that the server has not
    confirmed: those it holds are marked uploaded in one transaction, so only the rest are
    sent, each without asking again. False when the server cannot answer the question (an
    older server): then each photo asks for itself. Either way the server's `missing_photos`
    in its answer to the inspection stays the final word."""
    pending = store.pending_photos()
    if not pending:
        return True
    missing = api.missing_photos(pending)
    if missing is None:
        return False
    held = [sha for sha in pending if sha not in missing]
    store.mark_uploaded(held)
    if report is not None:
        report.photos_already_there += len(held)
    return True


@dataclass
class _Shift:
    """What one push sends: the outbox's inspections in order, each with its body and the
    photos it still waits for, and one queue of every photo not yet confirmed."""

    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    waiting: dict[str, set[str]] = field(default_factory=dict)
    queue: list[str] = field(default_factory=list)
    # Upload URLs of tus uploads begun in an earlier run, to resume from.
    urls: dict[str, str] = field(default_factory=dict)

    def cited_by(self, sha: str) -> list[str]:
        return [uuid for uuid, photos in self.waiting.items() if sha in photos]


def _plan(store: Store, outbox: list[Any], shift: _Shift, queued: Callable[[str], None]) -> None:
    """Each inspection's body and the photos it waits for; `queued` hears of each photo as
    it joins the queue, so uploads start while later inspections are still being read."""
    for row in outbox:
        uuid = row["uuid"]
        store.begin_upload(uuid)
        body = wire_body(store, uuid)
        cited = [sha for answer in body["answers"] for sha in answer["photos"]]
        hashes = list(dict.fromkeys(cited + record.hashes(body.get("record"))))
        need = set()
        for sha in hashes:
            row_ = store.photo(sha)
            if row_ is not None and row_["uploaded"]:
                continue
            path = store.photo_path(sha)
            if not path.is_file():
                raise FieldError(f"照片文件丢失 / photo file missing on this device: {path}")
            need.add(sha)
            if sha not in shift.queue:
                shift.queue.append(sha)
                if row_ is not None and row_["upload_url"]:
                    shift.urls[sha] = row_["upload_url"]
                queued(sha)
        shift.bodies[uuid] = body
        shift.waiting[uuid] = need


def _upload(
    api: SyncApi, path: Path, sha: str, upload_url: str | None, ask: bool, urls: dict[str, str]
) -> int:
    """Send one photo. Runs on a worker thread, so it only reads the file and talks to the
    server; a tus upload URL it learns goes into `urls`, which the main thread stores."""
    data = path.read_bytes()
    api.upload_photo(
        sha, data, upload_url=upload_url, remember=lambda url: urls.__setitem__(sha, url), ask=ask
    )
    return len(data)


def _put(
    store: Store,
    api: SyncApi,
    uuid: str,
    body: dict[str, Any],
    progress: Progress | None,
    report: PushReport,
) -> None:
    """PUT one inspection whose photos are all confirmed; mark it synced once the server
    holds it and every photo it cites. A refusal requeues it with the reason."""
    try:
        row = store.inspection(uuid)
        stored = api.put_inspection(uuid, body, row["revising"])
        if stored["missing_photos"]:
            # The server lacks a photo we thought it had: send those again, then confirm.
            with store.transaction() as db:
                marks = ",".join("?" * len(stored["missing_photos"]))
                db.execute(
                    f"UPDATE photos SET uploaded = 0 WHERE sha256 IN ({marks})",
                    stored["missing_photos"],
                )
            for sha in stored["missing_photos"]:
                size = _upload(api, store.photo_path(sha), sha, None, False, {})
                store.mark_uploaded([sha])
                report.photo_confirmed(sha)
                if progress:
                    progress("bytes", size)
            stored = api.put_inspection(uuid, body, row["revising"])
            if stored["missing_photos"]:
                raise FieldError(f"服务器仍缺照片 / the server still lacks photos of {uuid}")
    except ServerRefused as refused:
        _refuse(store, report, uuid, refused)
        return
    store.mark_synced(uuid, stored["etag"])
    report.synced.append(uuid)
    if progress:
        progress("inspection", 1)


def _refuse(store: Store, report: PushReport, uuid: str, refused: ServerRefused) -> None:
    detail = f"{refused} {refused.errors or ''}".strip()
    store.requeue(uuid, detail)
    report.refused[uuid] = detail


def push(
    store: Store,
    api: SyncApi,
    progress: Progress | None = None,
    report: PushReport | None = None,
) -> PushReport:
    """Every inspection in the outbox; one the server refuses stays queued with the reason.

    One question says which photos the server lacks; then every photo of the whole shift
    goes through one queue, PARALLEL_UPLOADS in flight at once, so the link never idles
    between inspections, and each inspection is PUT (on this thread, while photos keep
    going) as soon as its own photos are confirmed. A photo is marked uploaded here, on
    the main thread, only once the server confirmed it. A photo the server refuses
    requeues the inspections that cite it; a lost connection or login stops the push
    (what is in flight finishes first) and the next sync goes on from what was confirmed.
    Pass `report` to keep what went through when the push ends early.
    """
    report = report if report is not None else PushReport()
    outbox = store.inspections(OUTBOX)
    if not outbox:
        return report
    asked = ask_missing(store, api, report)
    shift = _Shift()
    stop: BaseException | None = None
    learned: dict[str, str] = {}  # tus upload URLs the workers learned, by photo
    with ThreadPoolExecutor(PARALLEL_UPLOADS, thread_name_prefix="photo-upload") as pool:
        futures: dict[Future[int], str] = {}

        def queued(sha: str) -> None:
            path, url = store.photo_path(sha), shift.urls.get(sha)
            futures[pool.submit(_upload, api, path, sha, url, not asked, learned)] = sha

        try:
            _plan(store, outbox, shift, queued)
            for uuid in [uuid for uuid, need in shift.waiting.items() if not need]:
                del shift.waiting[uuid]
                _put(store, api, uuid, shift.bodies[uuid], progress, report)
            for future in as_completed(futures):
                sha = futures[future]
                if future.cancelled():
                    continue
                error = future.exception()
                if error is not None and sha in learned:
                    store.remember_upload(sha, learned[sha])  # the next run resumes there
                if isinstance(error, ServerRefused):
                    for uuid in shift.cited_by(sha):
                        del shift.waiting[uuid]
                        _refuse(store, report, uuid, error)
                    continue
                if error is not None:
                    stop = stop or error  # start nothing more; what is in flight finishes
                    for other in futures:
                        other.cancel()
                    continue
                store.mark_uploaded([sha])
                report.photo_confirmed(sha)
                if progress:
                    progress("bytes", future.result())
                for uuid in shift.cited_by(sha):
                    shift.waiting[uuid].discard(sha)
                    if not shift.waiting[uuid] and stop is None:
                        del shift.waiting[uuid]
                        _put(store, api, uuid, shift.bodies[uuid], progress, report)
        finally:  # interrupted here too: start nothing more
            for other in futures:
                other.cancel()
    if stop is not None:
        raise stop
    return report


def outbox_size(store: Store) -> dict[str, Any]:
    """What still waits to go: inspections and the bytes of their unconfirmed photos."""
    pending = store.pending_photos()
    size = sum(
        store.photo_path(sha).stat().st_size for sha in pending if store.photo_path(sha).is_file()
    )
    return {
        "inspections": len(store.inspections(OUTBOX)),
        "photos": len(pending),
        "photo_bytes": size,
    }
