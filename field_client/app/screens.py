"""What each screen shows, computed from the store with the CLI's own functions.

Nothing here writes; the views call `capture` and `sync` for every change, so the app and
the CLI cannot disagree about what an answer means or what is still missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import checklists as rules
from checklists.evaluate import served_items, waiting_on
from checklists.model import SEVERITY_LABELS, SITE_KINDS
from field_client import capture, rechecks
from field_client import tasks as field_tasks
from field_client.app.flags import distance_m
from field_client.errors import FieldError
from field_client.store import Store

CHECK_BUTTONS = (
    ("compliant", "符合", "compliant"),
    ("non_compliant", "不符合", "non-compliant"),
    ("not_applicable", "不适用", "n/a"),
)


def local_time(value: str | None) -> str:
    """An ISO time from the store, as the inspector reads it: Asia/Shanghai, to the minute."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(capture.LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")


def kind_label(kind: str) -> str:
    return SITE_KINDS.get(kind, kind)


def sites_nearest_first(
    store: Store, query: str, lat: float | None, lon: float | None
) -> list[dict[str, Any]]:
    """Matching sites, each with `distance_m`, nearest first when the position is known."""
    found = []
    for site in store.search_sites(query):
        away = None
        if lat is not None and lon is not None and site.get("lat") is not None:
            away = distance_m(lat, lon, site["lat"], site["lon"])
        found.append({**site, "distance_m": away})
    if lat is not None and lon is not None:
        found.sort(key=lambda s: (s["distance_m"] is None, s["distance_m"] or 0.0))
    return found


def applicable_checklists(store: Store, site: dict[str, Any]) -> list[rules.Checklist]:
    """The checklists to offer for a site today: those made for the site's kind of which a
    plan governing the site's city today says at least one item (the law in force)."""
    current = [store.checklist(checklist_id) for checklist_id in sorted(store.checklist_etags())]
    today = datetime.now(capture.LOCAL_ZONE).date()
    scope = capture.site_scope(store, site, today)
    return [
        checklist
        for checklist in current
        if site["kind"] in checklist.site_kinds and served_items(checklist, scope)
    ]


FINDING_STATUS_LABELS = {
    "open": "待通知 / open",
    "notified": "待整改 / notified",
    "answered": "已答复待核验 / answered",
    "reopened": "整改未通过 / reopened",
}


@dataclass(frozen=True)
class EarlierFailure:
    """A failed item of an earlier inspection of the same site: one of this device's, or an
    unresolved finding pulled from the server (`status`, `due_date`: the server's)."""

    inspection: str
    started_at: str
    code: str
    text: str
    remedy: str
    review_status: str | None
    status: str | None = None
    due_date: str | None = None


def earlier_failures(
    store: Store, site_id: int, exclude: str | None = None
) -> list[EarlierFailure]:
    """What a re-inspection of this site checks again: the site's unresolved findings on the
    server as last pulled (whoever found them), then the failures of this device's own
    earlier inspections that the server list does not already hold, newest first."""
    found = _pulled_findings(store, site_id, exclude)
    seen = {(failure.inspection, failure.code) for failure in found}
    rows = store.db.execute(
        "SELECT uuid FROM inspections WHERE site_id = ? ORDER BY started_at DESC", (site_id,)
    ).fetchall()
    for (uuid,) in rows:
        if uuid == exclude:
            continue
        row = store.inspection(uuid)
        if row["state"] == "draft":
            continue
        ctx, results = capture.results(store, uuid)
        for item in ctx.checklist.items:
            if (uuid, item.code) in seen:
                continue
            if results[item.code].verdict is rules.Verdict.NON_COMPLIANT:
                found.append(
                    EarlierFailure(
                        uuid,
                        row["started_at"],
                        item.code,
                        item.text.zh,
                        item.remedy.zh,
                        row["review_status"],
                    )
                )
    return found


def _pulled_findings(store: Store, site_id: int, exclude: str | None) -> list[EarlierFailure]:
    found = []
    parsed: dict[str, rules.Checklist | None] = {}  # each checklist read from the store once
    for finding in reversed(rechecks.for_site(store, site_id)):
        if finding["inspection_uuid"] == exclude:
            continue
        code = finding["item"]
        checklist_id = finding["checklist_id"]
        if checklist_id not in parsed:
            try:
                parsed[checklist_id] = store.checklist(checklist_id)
            except FieldError:
                parsed[checklist_id] = None
        checklist = parsed[checklist_id]
        item = checklist.item(code.partition("#")[0]) if checklist is not None else None
        found.append(
            EarlierFailure(
                finding["inspection_uuid"],
                finding["inspected_at"],
                code,
                item.text.zh if item is not None else code,
                item.remedy.zh if item is not None else "",
                None,
                finding["status"],
                finding.get("due_date"),
            )
        )
    return found


@dataclass
class ItemCard:
    """One item as the answer screen shows it."""

    item: rules.Item
    result: rules.ItemResult
    value: Any
    note: str
    photos: list[str]
    missing: str | None
    bases: list[tuple[str, str, str]]  # (plan number, clause, quote)
    limit_text: str | None
    depends_on: str | None = None
    severity: str = ""
    options: list[tuple[str, str, str]] = field(default_factory=list)
    # A re-visit: what the closure inspection found for this item.
    at_closure: str | None = None

    @property
    def answered(self) -> bool:
        return self.value is not None

    @property
    def shown_value(self) -> str:
        if self.value is None:
            return ""
        return str(self.value)


def limit_text(limit: rules.Limit | None, unit: str | None) -> str | None:
    """ "≤ 3 月（plan number）": the bound in force for this city and date, and where it is from."""
    if limit is None:
        return None
    sources = rules.load_sources()
    bounds = [
        f"{word} {bound:g} {unit or ''}".strip()
        for word, bound in (("≤", limit.max), ("≥", limit.min), (">", limit.above))
        if bound is not None
    ]
    return f"{' '.join(bounds)}（{sources[limit.source].number}）"


@dataclass
class InspectionScreen:
    row: Any
    site: dict[str, Any]
    checklist: rules.Checklist
    cards: list[ItemCard]
    missing: list[rules.Missing]
    answered: int
    total: int


def inspection_screen(store: Store, uuid: str) -> InspectionScreen:
    """Every item that applies (or may apply) with its answer, verdict, photos and gaps."""
    row = store.inspection(uuid)
    ctx, results = capture.results(store, uuid)
    answers = store.answers(uuid)
    photos = store.photos_of(uuid)
    gaps = capture.missing(store, uuid)
    gap_of = {gap.code: gap.reason for gap in gaps}
    sources = rules.load_sources()
    closure = field_tasks.closure_verdicts(store, row["site_id"], ctx.checklist.id)
    cards = []
    for item in ctx.checklist.items:
        result = results[item.code]
        if result.applicable is False:
            continue  # a conditional item disappears while its condition is not met
        value, note = answers.get(item.code, (None, ""))
        if item.answer_type is rules.AnswerType.CHECK:
            options = list(CHECK_BUTTONS)
        else:
            options = [(o.value, o.label.zh, o.label.en) for o in item.options]
        cards.append(
            ItemCard(
                item=item,
                result=result,
                value=value,
                note=note,
                photos=photos.get(item.code, []),
                missing=gap_of.get(item.code),
                # Only the quotes of plans governing this site on the inspection day.
                bases=[
                    (sources[b.source].number, b.clause, b.quote)
                    for b in result.bases
                    if b.source in sources
                ],
                limit_text=limit_text(result.limit, item.unit),
                depends_on=(
                    ", ".join(waiting_on(ctx.checklist, item.code, capture.values(store, uuid)))
                    if result.applicable is None
                    else None
                ),
                severity=SEVERITY_LABELS.get(item.severity, str(item.severity)),
                options=options,
                at_closure=closure.get(item.code),
            )
        )
    answered = sum(1 for card in cards if card.answered)
    return InspectionScreen(row, ctx.site, ctx.checklist, cards, gaps, answered, len(cards))


def json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def raw_value(value: Any) -> str:
    """A stored answer as the text `capture.answer` parses back to the same value."""
    return value if isinstance(value, str) else str(value)
