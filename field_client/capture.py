"""Capturing an inspection offline: start it, answer items, attach photos, finish it.

The verdicts come from the same `checklists` package the server uses, so a number over
its limit is 不符合 on the spot, exactly as the server will judge it.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import checklists as rules
from checklists.evaluate import served_items
from checklists.scope import Scope
from field_client import positions, record
from field_client.errors import FieldError
from field_client.localtime import LOCAL_ZONE
from field_client.store import EDITABLE, LocalState, Store, now_iso

if TYPE_CHECKING:
    from field_client.photos import ProcessedPhoto, Watermark

# The photo pipeline (Pillow, pillow-heif, field_client.photos) is imported where photos
# are processed, not here: `sync`, `status` and the other commands that process no photo
# start without it.

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".heif"}
# The server's limit on an answer's note (AnswerIn.note). Checked when the note is typed: a
# finished inspection is frozen, so one the server refuses for its note could never be
# corrected on the device and would be refused at every sync.
MAX_NOTE = 2000
CHECK_WORDS = {
    "compliant": "compliant",
    "符合": "compliant",
    "c": "compliant",
    "y": "compliant",
    "non_compliant": "non_compliant",
    "不符合": "non_compliant",
    "n": "non_compliant",
    "not_applicable": "not_applicable",
    "不适用": "not_applicable",
    "na": "not_applicable",
}
VERDICT_LABELS = {
    rules.Verdict.COMPLIANT: "符合 / compliant",
    rules.Verdict.NON_COMPLIANT: "不符合 / non-compliant",
    rules.Verdict.NOT_APPLICABLE: "不适用 / not applicable",
    rules.Verdict.UNANSWERED: "未作答 / unanswered",
    rules.Verdict.DUE: "限期内（非违规）/ due: the plan's deadline has not passed",
    rules.Verdict.OBSERVATION: "建议（倡导性要求）/ observation: encouraged only",
    rules.Verdict.RECORDED: "已记录（无现行限值）/ recorded: no limit in force here",
}


@dataclass(frozen=True)
class Context:
    """What judging an inspection's answers needs: its rules and the law in force there."""

    checklist: rules.Checklist
    site: dict[str, Any]
    on: date
    scope: Scope

    @property
    def city(self) -> str:
        return self.site["city"]


def site_scope(store: Store, site: dict[str, Any], on: date) -> Scope:
    """The plans governing the site's city on that day, from the declaration last pulled."""
    return Scope.of(store.governance(), site.get("city_code") or site["city"], on)


def context(store: Store, row: Any) -> Context:
    started = datetime.fromisoformat(row["started_at"])
    site = store.site(row["site_id"])
    on = started.astimezone(LOCAL_ZONE).date()
    return Context(
        checklist=store.checklist(row["checklist_id"], row["checklist_version"]),
        site=site,
        on=on,
        scope=site_scope(store, site, on),
    )


def start(
    store: Store,
    site_id: int,
    checklist_id: str,
    location: tuple[float, float, float | None] | None = None,
) -> str:
    """A new draft inspection with an id made here and the checklist version pinned."""
    checklist = _startable(store, site_id, checklist_id)
    inspection_id = str(uuid_module.uuid4())
    store.start_draft(inspection_id, site_id, checklist, location or (None, None, None))
    return inspection_id


def _startable(store: Store, site_id: int, checklist_id: str) -> rules.Checklist:
    """The checklist, if an inspection of it may start at this site today."""
    site = store.site(site_id)
    checklist = store.checklist(checklist_id)
    if site["kind"] not in checklist.site_kinds:
        raise FieldError(
            f"检查表 {checklist_id} 不适用于 {site['kind']} 类场所 / checklist {checklist_id} "
            f"does not apply to {site['kind']} sites ({', '.join(checklist.site_kinds)})"
        )
    today = datetime.now(LOCAL_ZONE).date()
    if not served_items(checklist, site_scope(store, site, today)):
        raise FieldError(
            f"场所所在城市今日无现行计划规定此检查表的任何项目 / no plan in force for "
            f"{site['city']} today says any item of {checklist_id}"
        )
    return checklist


def start_once(
    store: Store,
    site_id: int,
    checklist_id: str,
    draft_id: str,
    location: tuple[float, float, float | None] | None = None,
) -> tuple[str, bool]:
    """The draft a start form names, made once, and whether this call made it.

    The app's start form carries an id made when the page was shown, so a double tap on
    开始检查 (or a resent form) opens the draft the first tap made instead of leaving a
    second, empty one beside it. An id that is not a UUID, or that names another site's or
    checklist's inspection or one no longer a draft (the page reached again by the back
    button after finishing), starts a new draft as before.
    """
    try:
        wanted = str(uuid_module.UUID(draft_id))
    except ValueError:
        return start(store, site_id, checklist_id, location), True

    def same_draft() -> bool:
        try:
            row = store.inspection(wanted)
        except FieldError:  # no inspection under that id yet
            return False
        found = (row["site_id"], row["checklist_id"], row["state"])
        return found == (site_id, checklist_id, LocalState.DRAFT.value)

    if same_draft():
        return wanted, False
    checklist = _startable(store, site_id, checklist_id)
    if store.start_draft(wanted, site_id, checklist, location or (None, None, None)):
        return wanted, True
    if same_draft():  # the other tap's request inserted it between our look and our write
        return wanted, False
    return start(store, site_id, checklist_id, location), True


def editable(store: Store, uuid: str) -> Any:
    row = store.inspection(uuid)
    if row["state"] not in EDITABLE:
        raise FieldError(
            f"检查已完成（{row['state']}），不能修改 / the inspection is {row['state']} and "
            "can no longer be changed"
        )
    return row


def parse_value(item: rules.Item, raw: str) -> Any:
    """Turn what the inspector typed into an answer value of the item's type."""
    text = raw.strip()
    if text.lower() in ("not_applicable", "不适用", "na", "n/a"):
        return "not_applicable"
    if item.answer_type is rules.AnswerType.CHECK:
        if text.lower() not in CHECK_WORDS:
            raise FieldError(
                "请输入 符合/不符合/不适用 / enter compliant, non_compliant or not_applicable"
            )
        return CHECK_WORDS[text.lower()]
    if item.answer_type is rules.AnswerType.NUMBER:
        try:
            value = float(text)
        except ValueError:
            raise FieldError(f"请输入数字（{item.unit}）/ enter a number in {item.unit}") from None
        return int(value) if value.is_integer() and "." not in text else value
    if item.answer_type is rules.AnswerType.CHOICE:
        for option in item.options:
            if text in (option.value, option.label.zh, option.label.en):
                return option.value
        allowed = ", ".join(f"{o.value} ({o.label.zh})" for o in item.options)
        raise FieldError(f"可选值 / allowed values: {allowed}")
    if not text:
        raise FieldError("请输入文本 / enter some text")
    return text


def import_photo(
    store: Store, path: Path, watermark: tuple[str, ...] | None = None
) -> ProcessedPhoto:
    """Process a photo (watermarked when lines are given) and keep it, named by its hash."""
    from field_client.photos import PhotoError, process_photo

    try:
        mark = _watermark(path, watermark) if watermark is not None else None
        processed = process_photo(path, watermark=mark)
    except PhotoError as error:
        raise FieldError(str(error)) from None
    store.write_photo_file(processed.sha256, processed.data)
    return processed


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the images inside any folder, in name order."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            expanded.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            expanded.append(path)
    return expanded


def _record_photo(db: Any, processed: ProcessedPhoto, source: Path) -> None:
    db.execute(
        "INSERT INTO photos (sha256, original_sha256, size, width, height, taken_at, lat, lon, "
        "source_name, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (sha256) DO NOTHING",
        (
            processed.sha256,
            processed.original_sha256,
            processed.size,
            processed.width,
            processed.height,
            processed.taken_at.isoformat() if processed.taken_at else None,
            processed.lat,
            processed.lon,
            source.name,
            now_iso(),
        ),
    )


def watermark_lines(store: Store, uuid: str, inspector: str) -> tuple[str, ...]:
    """What every watermark of this inspection says: site code, inspector, inspection."""
    site = store.site(store.inspection(uuid)["site_id"])
    return (f"site {site['code']}  inspector {inspector}  inspection {uuid[:8]}",)


def _watermark(path: Path, lines: tuple[str, ...]) -> Watermark:
    """The photo's own capture time and place first (read from its EXIF), then `lines`."""
    from PIL import Image

    from evidence.exif import read_facts
    from field_client.photos import Watermark

    try:
        with Image.open(path) as image:
            facts = read_facts(image)
    except (OSError, ValueError):
        facts = None  # process_photo will refuse the file with a clear message
    when = facts.taken_at.isoformat(sep=" ") if facts and facts.taken_at else "time unknown"
    where = (
        f"{facts.lat:.5f}, {facts.lon:.5f}"
        if facts and facts.lat is not None and facts.lon is not None
        else "no GPS"
    )
    return Watermark((f"{when}  {where}", *lines))


def attach_photos(
    store: Store,
    uuid: str,
    item_code: str,
    paths: list[Path],
    watermark: Watermark | None = None,
) -> list[str]:
    """Process photos and attach them to an item; all or nothing is recorded."""
    row = editable(store, uuid)
    if store.checklist(row["checklist_id"], row["checklist_version"]).item(item_code) is None:
        raise FieldError(f"检查表中无此项 / no item {item_code} in this checklist")
    files = expand_paths(paths)
    if not files:
        raise FieldError("没有找到照片 / no photos found")
    processed = [(import_photo(store, path, watermark), path) for path in files]
    with store.transaction() as db:
        position = db.execute(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM answer_photos "
            "WHERE inspection_uuid = ? AND item_code = ?",
            (uuid, item_code),
        ).fetchone()[0]
        for offset, (photo, source) in enumerate(processed):
            _record_photo(db, photo, source)
            db.execute(
                "INSERT INTO answer_photos (inspection_uuid, item_code, sha256, position) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (uuid, item_code, photo.sha256, position + offset),
            )
        store.touch_editable(db, uuid)
    return [photo.sha256 for photo, _ in processed]


def detach_photo(store: Store, uuid: str, item_code: str, sha256: str) -> None:
    """Take a photo off an item (a wrong shot); the file stays, as other items may cite it."""
    editable(store, uuid)
    with store.transaction() as db:
        removed = db.execute(
            "DELETE FROM answer_photos WHERE inspection_uuid = ? AND item_code = ? AND sha256 = ?",
            (uuid, item_code, sha256),
        ).rowcount
        if not removed:
            raise FieldError(f"该项没有这张照片 / item {item_code} has no such photo")
        store.touch_editable(db, uuid)


def answer(
    store: Store, uuid: str, item_code: str, raw_value: str, note: str | None = None
) -> rules.Verdict:
    """Record an answer and return its verdict, judged as the server will judge it."""
    row = editable(store, uuid)
    ctx = context(store, row)
    item = ctx.checklist.item(item_code)
    if item is None:
        raise FieldError(f"检查表中无此项 / no item {item_code} in {ctx.checklist.id}")
    if note is not None and len(note) > MAX_NOTE:
        raise FieldError(f"备注最多{MAX_NOTE}字 / a note has at most {MAX_NOTE} characters")
    if "\x00" in raw_value or "\x00" in (note or ""):
        # The server refuses any text holding NUL (it cannot be stored in PostgreSQL).
        raise FieldError("含有空字符 / the text contains a NUL character")
    value = parse_value(item, raw_value)
    try:
        if item.code not in {i.code for i in served_items(ctx.checklist, ctx.scope)}:
            raise FieldError(
                f"此项在该场所所在城市当日无现行计划依据 / item {item_code} is not in force "
                f"for this site on {ctx.on.isoformat()}"
            )
        verdict = rules.evaluate(item, value, ctx.scope, {**values(store, uuid), item_code: value})
    except rules.AnswerError as error:
        raise FieldError(str(error)) from None
    previous = store.answers(uuid).get(item_code)
    with store.transaction() as db:
        db.execute(
            "INSERT INTO answers (inspection_uuid, item_code, value, note, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (inspection_uuid, item_code) DO UPDATE SET "
            "value = excluded.value, note = excluded.note, updated_at = excluded.updated_at",
            (
                uuid,
                item_code,
                json.dumps(value, ensure_ascii=False),
                note if note is not None else (previous[1] if previous else ""),
                now_iso(),
            ),
        )
        store.touch_editable(db, uuid)
    return verdict


def values(store: Store, uuid: str) -> dict[str, Any]:
    return {code: value for code, (value, _) in store.answers(uuid).items()}


def results(store: Store, uuid: str) -> tuple[Context, dict[str, rules.ItemResult]]:
    row = store.inspection(uuid)
    ctx = context(store, row)
    return ctx, rules.evaluate_all(ctx.checklist, values(store, uuid), ctx.scope)


def missing(store: Store, uuid: str) -> list[rules.Missing]:
    ctx = context(store, store.inspection(uuid))
    return rules.missing_parts(ctx.checklist, values(store, uuid), store.photos_of(uuid), ctx.scope)


def finish(store: Store, uuid: str) -> None:
    """Freeze a complete inspection and queue it for sync; refuse while anything is missing."""
    row = editable(store, uuid)
    gaps = missing(store, uuid)
    if gaps:
        lines = "\n".join(f"  {gap.code}: {gap.reason}" for gap in gaps)
        raise FieldError(f"尚未完成 / not complete yet:\n{lines}")
    lat, lon, accuracy = row["lat"], row["lon"], row["accuracy_m"]
    if lat is None:
        located = store.db.execute(
            "SELECT p.lat, p.lon FROM photos p JOIN answer_photos a ON a.sha256 = p.sha256 "
            "WHERE a.inspection_uuid = ? AND p.lat IS NOT NULL ORDER BY a.item_code, a.position "
            "LIMIT 1",
            (uuid,),
        ).fetchone()
        if located:
            lat, lon, accuracy = located[0], located[1], None
    store.queue(uuid, (lat, lon, accuracy))


def wire_body(store: Store, uuid: str) -> dict[str, Any]:
    """The inspection in the sync API's wire shape; a frozen inspection always gives the same."""
    row = store.inspection(uuid)
    checklist = store.checklist(row["checklist_id"], row["checklist_version"])
    answers = store.answers(uuid)
    photos = store.photos_of(uuid)
    location = None
    if row["lat"] is not None:
        location = {"lat": row["lat"], "lon": row["lon"], "accuracy_m": row["accuracy_m"]}
    signed = record.load(store, uuid)
    body = {
        "site_id": row["site_id"],
        "checklist_id": row["checklist_id"],
        "checklist_version": row["checklist_version"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "device_time": row["device_time"],
        "location": location,
        "answers": [
            {
                "item": item.code,
                "value": answers[item.code][0],
                "note": answers[item.code][1],
                "photos": photos.get(item.code, []),
            }
            for item in checklist.items
            if item.code in answers
        ],
    }
    if signed is not None:  # the signed on-site record, when one was made (the app)
        body["record"] = signed
    cited = list(dict.fromkeys(sha for answer in body["answers"] for sha in answer["photos"]))
    where = positions.wire(store, uuid, cited)
    if where is not None:  # the device's own positions, when the app recorded them
        body["positions"] = where
    return body
