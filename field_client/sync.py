"""Sync: push finished inspections and their photos exactly once, pull what changed.

Like kinto.js, every local record carries its sync state and every feed a cursor; a cursor
moves only in the same transaction as the data it covers, and an inspection is marked
synced only after the server confirmed the inspection and every photo it cites. Interrupt
it anywhere and run it again: the server's idempotent PUT and hash-named photos make the
repeat harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
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
# Whole photo uploads in flight at once (see _send_together).
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


def _send_photos(
    store: Store,
    api: SyncApi,
    hashes: list[str],
    progress: Progress | None,
    ask: bool = True,
    confirmed: Confirmed | None = None,
) -> int:
    """Send the photos not marked uploaded; `ask=False` when the server just said it lacks
    them: then those that go whole are sent PARALLEL_UPLOADS at a time while the link holds
    (`_send_together`), and any left go one by one without a HEAD first."""
    todo: list[tuple[str, str | None, Path]] = []
    for sha in hashes:
        row = store.photo(sha)
        if row is not None and row["uploaded"]:
            continue
        path = store.photo_path(sha)
        if not path.is_file():
            raise FieldError(f"照片文件丢失 / photo file missing on this device: {path}")
        todo.append((sha, row["upload_url"] if row is not None else None, path))
    sent = 0
    if not ask:
        together, failed = _send_together(store, api, todo, progress, confirmed)
        todo = [item for item in todo if item[0] not in together]
        sent, ask = len(together), failed  # after a failure, whatever is left asks first
    for sha, upload_url, path in todo:
        api.upload_photo(
            sha,
            path.read_bytes(),
            upload_url=upload_url,
            remember=lambda url, sha=sha: store.remember_upload(sha, url),
            progress=(lambda n: progress("bytes", n)) if progress else None,
            ask=ask,
        )
        store.mark_uploaded([sha])
        if confirmed:
            confirmed(sha)
        sent += 1
    return sent


def _send_together(
    store: Store,
    api: SyncApi,
    todo: list[tuple[str, str | None, Path]],
    progress: Progress | None,
    on_confirmed: Confirmed | None = None,
) -> tuple[set[str], bool]:
    """Whole uploads of photos the server lacks, PARALLEL_UPLOADS at a time, while the link
    holds: the server verifies each photo by decoding it, so a few at once keep its workers
    busy while the device waits. Only photos that go whole and were never started by tus
    take part; the threads only send, and each photo is marked uploaded here, on the main
    thread, once its PUT is confirmed. The first failure starts nothing more (what is in
    flight finishes); the photos not confirmed stay unmarked for the one-by-one path, with
    its HEAD, retries and tus. Returns the confirmed hashes and whether anything failed."""
    eligible = [
        (sha, path)
        for sha, upload_url, path in todo
        if upload_url is None and api.sends_whole(path.stat().st_size)
    ]
    confirmed: set[str] = set()
    if len(eligible) < 2 or not api.link_holds:
        return confirmed, False

    def send(sha: str, path: Path) -> int:
        data = path.read_bytes()
        api.put_photo(sha, data)
        return len(data)

    failed = False
    with ThreadPoolExecutor(PARALLEL_UPLOADS, thread_name_prefix="photo-upload") as pool:
        futures = {pool.submit(send, sha, path): sha for sha, path in eligible}
        try:
            for future in as_completed(futures):
                if future.cancelled() or future.exception() is not None:
                    # Whatever it was (a break, a refusal, an expired login) is met again
                    # on the one-by-one path, with retries and a clear message.
                    failed = True
                    for other in futures:
                        other.cancel()
                    continue
                store.mark_uploaded([futures[future]])
                confirmed.add(futures[future])
                if on_confirmed:
                    on_confirmed(futures[future])
                if progress:
                    progress("bytes", future.result())
        finally:  # interrupted here too: start nothing more
            for other in futures:
                other.cancel()
    return confirmed, failed


def push_one(
    store: Store,
    api: SyncApi,
    uuid: str,
    progress: Progress | None = None,
    asked: bool = False,
    confirmed: Confirmed | None = None,
) -> int:
    """Send one queued inspection and its photos; mark it synced once the server has all.

    `asked`: the server was just asked about every photo not marked uploaded (`ask_missing`).
    `confirmed` hears of each photo as it is confirmed, even if sending the inspection fails.
    """
    store.begin_upload(uuid)
    body = wire_body(store, uuid)
    cited = [sha for answer in body["answers"] for sha in answer["photos"]]
    hashes = list(dict.fromkeys(cited + record.hashes(body.get("record"))))
    sent = _send_photos(store, api, hashes, progress, ask=not asked, confirmed=confirmed)
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
        sent += _send_photos(
            store, api, stored["missing_photos"], progress, ask=False, confirmed=confirmed
        )
        stored = api.put_inspection(uuid, body, row["revising"])
        if stored["missing_photos"]:
            raise FieldError(f"服务器仍缺照片 / the server still lacks photos of {uuid}")
    store.mark_synced(uuid, stored["etag"])
    return sent


def push(
    store: Store,
    api: SyncApi,
    progress: Progress | None = None,
    report: PushReport | None = None,
) -> PushReport:
    """Every inspection in the outbox; one the server refuses stays queued with the reason.

    Pass `report` to keep what went through when a lost connection ends the push early.
    """
    report = report if report is not None else PushReport()
    outbox = store.inspections(OUTBOX)
    asked = bool(outbox) and ask_missing(store, api, report)
    for row in outbox:
        uuid = row["uuid"]
        try:
            push_one(store, api, uuid, progress, asked, report.photo_confirmed)
        except ServerRefused as refused:
            detail = f"{refused} {refused.errors or ''}".strip()
            store.requeue(uuid, detail)
            report.refused[uuid] = detail
            continue
        report.synced.append(uuid)
        if progress:
            progress("inspection", 1)
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
