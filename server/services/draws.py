"""双随机 draws: define the population, commit to it, and publish what lets anyone re-run it.

Creating a draw fixes the candidate list (sites of the population and the pool of certified
inspectors, each with the enterprises they are tied to) and a fresh server-held secret, and
publishes the SHA-256 of both. Drawing and issuing are moves of the draw lifecycle
(lifecycles/draw.py); the algorithm itself is pure (draw_algorithm.py, docs/draws.md).

Who sees a draw: supervisors of its city and administrators, never inspectors or
enterprises (an enterprise learns of a draw only when it is inspected; inspectors see
the tasks issued to them). The secret is shown to no one until the draw is issued.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date
from typing import Any

from sqlalchemy import func, select, text

from server.extensions import db
from server.models import (
    Draw,
    DrawStatus,
    Enterprise,
    Role,
    Site,
    Task,
    TaskReason,
    TaskSite,
    TaskStatus,
    User,
)
from server.services import audit, checklists, law
from server.services import draw_algorithm as algorithm
from server.services.clock import today
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from server.services.registry import visible_city
from server.services.tasks import MAX_AHEAD
from server.services.ties import tied_enterprises

STAFF = (Role.SUPERVISOR, Role.ADMIN)
MAX_SITE_IDS = 5000
CRITERIA_KEYS = ("city_code", "district_code", "industry", "site_kind", "site_ids")


def require_staff(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可管理双随机抽查 / only supervisors run draws"
        )


MAX_ID = 2**31 - 1  # ids are PostgreSQL integers
TEXT_LIMITS = {
    "city_code": 6,
    "district_code": 12,
    "industry": 100,
    "site_kind": 40,
    "title": 200,
    "checklist_id": 60,
    "witness": 200,
}


def clean_text(value: Any, field: str) -> str:
    """A text field stripped; refused (422) when too long or holding control characters
    (a NUL cannot even be sent to PostgreSQL, and none belongs in a published record)."""
    text = str(value or "").strip()
    limit = TEXT_LIMITS[field]
    if len(text) > limit or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            f"{field} 含控制字符或超过{limit}字 / {field}: control characters, or over {limit}",
            {field: [f"at most {limit} printable characters"]},
        )
    return text


def clean_ids(values: Any, field: str) -> list[int]:
    """Distinct row ids, ascending; refused when one is no possible id."""
    ids = sorted({int(value) for value in values or []})
    if any(not 1 <= value <= MAX_ID for value in ids):
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            f"{field} 含无效编号 / {field}: not a row id",
            {field: [f"ids are 1..{MAX_ID}"]},
        )
    return ids


def _criteria(fields: dict[str, Any]) -> dict[str, Any]:
    """The population filter as stored: only the keys given, text stripped, ids sorted."""
    criteria: dict[str, Any] = {}
    for key in ("city_code", "district_code", "industry", "site_kind"):
        value = clean_text(fields.get(key), key)
        if value:
            criteria[key] = value
    site_ids = clean_ids(fields.get("site_ids"), "site_ids")
    if site_ids:
        criteria["site_ids"] = site_ids
    return criteria


def population(user: User, fields: dict[str, Any]) -> list[Site]:
    """Active sites matching the criteria within the user's city, by id."""
    require_staff(user)
    criteria = _criteria(fields)
    if not criteria:
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            "请至少给出一个抽查范围条件 / give at least one population criterion",
            {"criteria": [f"one of {', '.join(CRITERIA_KEYS)}"]},
        )
    query = select(Site).join(Site.enterprise).where(Site.active.is_(True)).order_by(Site.id)
    scope = visible_city(user)
    if scope:
        query = query.where(Enterprise.city == scope)
    if "city_code" in criteria:
        query = query.where(Site.city_code == criteria["city_code"])
    if "district_code" in criteria:
        query = query.where(Site.district_code == criteria["district_code"])
    if "industry" in criteria:
        query = query.where(Enterprise.industry == criteria["industry"])
    if "site_kind" in criteria:
        query = query.where(Site.kind == criteria["site_kind"])
    if "site_ids" in criteria:
        query = query.where(Site.id.in_(criteria["site_ids"]))
    return list(db.session.scalars(query))


def sample_size(total: int, count: int | None, percent: int | None) -> int:
    """How many of `total` candidates to draw: `count`, or ceil(total × percent / 100)."""
    if (count is None) == (percent is None):
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            "请给出抽取数量或比例（二选一）/ give either a count or a percentage",
            {"count": ["count or percent, not both"]},
        )
    if count is not None:
        if not 1 <= count <= total:
            raise Invalid(
                ErrorCode.DRAW_INVALID,
                f"抽取数量须在1到{total}之间 / the count must be between 1 and {total}",
                {"count": [f"1..{total}"]},
            )
        return count
    assert percent is not None
    if not 1 <= percent <= 100:
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            "抽取比例须在1%到100%之间 / the percentage must be 1..100",
            {"percent": ["1..100"]},
        )
    return math.ceil(total * percent / 100)


def certified_inspectors(city: str | None) -> list[User]:
    """Active inspectors with their 执法证号 on file, of `city` or of every city."""
    query = (
        select(User)
        .where(User.role == Role.INSPECTOR, User.active.is_(True), User.badge_no.is_not(None))
        .order_by(User.id)
    )
    rows = list(db.session.scalars(query))
    return [row for row in rows if city is None or row.city in (None, city)]


def _pool(city: str | None, inspector_ids: list[int] | None) -> list[User]:
    """The inspectors the draw may pair: the ones named (each must be certified), or every
    certified inspector of the city."""
    certified = certified_inspectors(city)
    if not inspector_ids:
        return certified
    by_id = {user.id: user for user in certified}
    unknown = sorted(set(inspector_ids) - set(by_id))
    if unknown:
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            "所选人员并非本市持证执法人员 / not certified inspectors of this city: "
            + ", ".join(map(str, unknown)),
            {"inspector_ids": [f"not certified: {unknown}"]},
        )
    return [by_id[i] for i in sorted(set(inspector_ids))]


def ties(pool: list[User], enterprise_ids: set[int]) -> dict[int, list[int]]:
    """For each inspector, the candidate enterprises they are tied to: a declared conflict
    (inspector_conflicts) or an account linked to the enterprise (users.enterprise_id)."""
    return tied_enterprises(pool, enterprise_ids)


def _draw_city(user: User, criteria: dict[str, Any], sites: list[Site] | None = None) -> str:
    """The city whose supervisors see the draw: the user's own, the one named, or the one
    city of its candidate sites."""
    scope = visible_city(user)
    if scope:
        return scope
    code = criteria.get("city_code")
    city = law.governance().city(code) if code else None
    if city is not None:
        return city.name
    cities = {site.enterprise.city for site in sites or []}
    return cities.pop() if len(cities) == 1 else ""


def _one_city(sites: list[Site]) -> None:
    """A draw's tasks go to one city's inspectors and are seen by its supervisors."""
    cities = sorted({site.enterprise.city for site in sites})
    if len(cities) > 1:
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            f"一次抽查限一个城市 / one city per draw; the population spans {'、'.join(cities)}",
            {"criteria": ["add city_code"]},
        )


def _checklist(checklist_id: str, sites: list[Site]) -> None:
    """The checklist exists and applies to every candidate site's kind."""
    version = checklists.current_version_of(checklist_id)
    kinds = set(checklists.get_rules(checklist_id, version).site_kinds)
    wrong = sorted({site.kind for site in sites} - kinds)
    if wrong:
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            f"检查表不适用于这些场所类型 / the checklist does not apply to site kinds: "
            f"{', '.join(wrong)}",
            {"checklist_id": [f"applies to {sorted(kinds)}, population has {wrong}"]},
        )


def create(user: User, fields: dict[str, Any]) -> Draw:
    """Fix the candidate list and a fresh secret; publish both hashes (status committed)."""
    require_staff(user)
    criteria = _criteria(fields)
    sites = population(user, fields)
    if not sites:
        raise Invalid(
            ErrorCode.DRAW_EMPTY_POPULATION,
            "抽查范围内没有在用场所 / the population matches no active site",
            {"criteria": ["no active site matches"]},
        )
    if len(criteria.get("site_ids", [])) > MAX_SITE_IDS:
        raise Invalid(ErrorCode.DRAW_INVALID, "场所过多 / too many sites", {"site_ids": ["max"]})
    size = sample_size(len(sites), fields.get("count"), fields.get("percent"))
    checklist_id = clean_text(fields.get("checklist_id"), "checklist_id")
    _checklist(checklist_id, sites)
    due: date = fields["due_date"]
    if due < today():
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            "完成期限不能早于今天 / the due date is in the past",
            {"due_date": ["not before today (China)"]},
        )
    if due > today() + MAX_AHEAD:
        # The tasks it issues carry this date, and a task may not be due more than three
        # years ahead (a typo'd year would hide the inspections for ever).
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            "完成期限不能超过三年 / the due date is at most three years ahead",
            {"due_date": ["at most three years ahead"]},
        )
    _one_city(sites)
    _no_pending_overlap(sites)
    city = _draw_city(user, criteria, sites)
    pool = _pool(city or None, clean_ids(fields.get("inspector_ids"), "inspector_ids"))
    tied = ties(pool, {site.enterprise_id for site in sites})
    short = [
        site.code
        for site in sites
        if sum(1 for user_id in tied if site.enterprise_id not in tied[user_id]) < algorithm.PAIR
    ]
    if short:
        raise Invalid(
            ErrorCode.DRAW_NOT_ENOUGH_INSPECTORS,
            "部分场所可派的持证执法人员不足两人 / fewer than two certified, untied inspectors "
            f"for: {', '.join(short[:20])}",
            {"inspector_ids": [f"{len(short)} sites lack a pair"]},
        )
    document = algorithm.candidate_document(
        checklist_id,
        size,
        [{"site_id": s.id, "code": s.code, "enterprise_id": s.enterprise_id} for s in sites],
        [{"user_id": uid, "excluded_enterprises": ids} for uid, ids in tied.items()],
    )
    text = algorithm.canonical(document)
    secret = os.urandom(32)
    draw = Draw(
        status=DrawStatus.COMMITTED.value,
        title=clean_text(fields.get("title"), "title"),
        city=city,
        criteria=criteria,
        sample_count=fields.get("count"),
        sample_percent=fields.get("percent"),
        checklist_id=checklist_id,
        due_date=due,
        candidates=text,
        candidate_hash=algorithm.sha256_hex(text.encode("utf-8")),
        secret=secret.hex(),
        secret_hash=algorithm.sha256_hex(secret),
        created_by=user.id,
        witness="",
    )
    db.session.add(draw)
    db.session.flush()
    audit.record_action(
        user,
        "draw.created",
        ("draw", str(draw.id)),
        {"candidate_hash": draw.candidate_hash, "secret_hash": draw.secret_hash},
        created=[draw],
    )
    db.session.commit()
    return draw


PENDING = (DrawStatus.COMMITTED.value, DrawStatus.DRAWN.value)


def site_ids_of(draw: Draw) -> set[int]:
    """The candidate site ids of a draw, from its committed list."""
    return {site["site_id"] for site in json.loads(draw.candidates)["sites"]}


DEFINITION_LOCK = 0x6C74_6472_6177  # "ltdraw": PostgreSQL advisory lock of draw definitions


def _serialise_definitions() -> None:
    """Take the lock that orders draw definitions, until the transaction ends.

    PostgreSQL: a transaction-level advisory lock (READ COMMITTED: the check that follows
    then sees every definition committed before it). SQLite: a write that changes nothing
    but begins the write transaction, so it waits for the database's write lock like a
    lifecycle claim does, and the check reads what the other writer committed.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEFINITION_LOCK})
    else:
        db.session.execute(text("UPDATE draws SET id = id WHERE 1 = 0"))


def _no_pending_overlap(sites: list[Site]) -> None:
    """Refuse a draw while another draw sharing a candidate site is committed or drawn.

    Otherwise a supervisor could define several draws of one population, draw each and
    issue the result they like (a re-roll). Definitions are serialised first
    (`_serialise_definitions`), so of two overlapping ones sent at once the second is
    checked after the first committed, and refused.
    """
    _serialise_definitions()
    wanted = {site.id for site in sites}
    for other in db.session.scalars(select(Draw).where(Draw.status.in_(PENDING))):
        common = sorted(wanted & site_ids_of(other))
        if common:
            raise Conflict(
                ErrorCode.DRAW_PENDING_EXISTS,
                f"抽查 #{other.id} 与本次抽查范围重叠且尚未下达，请先下达或作废 / draw "
                f"{other.id} shares {len(common)} candidate site(s) and is still {other.status}: "
                "issue or abandon it first",
                {"draw_id": other.id, "status": other.status, "site_ids": common[:20]},
            )


def pool_changes(draw: Draw, pairs_only: bool = False) -> list[str]:
    """What changed, since the draw was defined, in the inspectors it may pair: one who is
    no longer an active, certified inspector, or who is now tied to a candidate enterprise
    the committed list does not exclude. With `pairs_only` (at issue), only the drawn pairs
    and each pair's own site count. Empty when nothing changed that matters."""
    document = json.loads(draw.candidates)
    enterprise_of = {site["site_id"]: site["enterprise_id"] for site in document["sites"]}
    excluded = {p["user_id"]: set(p["excluded_enterprises"]) for p in document["inspectors"]}
    if pairs_only:
        wanted: dict[int, set[int]] = {}
        for entry in draw.result or []:
            for user_id in entry["inspectors"]:
                wanted.setdefault(user_id, set()).add(enterprise_of[entry["site_id"]])
    else:
        wanted = {user_id: set(enterprise_of.values()) for user_id in excluded}
    users = {
        user.id: user
        for user in db.session.scalars(select(User).where(User.id.in_(sorted(wanted))))
    }
    problems = []
    for user_id in sorted(wanted):
        user = users.get(user_id)
        if (
            user is None
            or not user.active
            or user.role != Role.INSPECTOR
            or user.badge_no is None
            or (draw.city and user.city not in (None, draw.city))
        ):
            problems.append(f"{user_id}: 非在岗持证执法人员 / not an active certified inspector")
    live = [users[i] for i in sorted(wanted) if i in users]
    all_enterprises = set(enterprise_of.values())
    for user_id, tied in tied_enterprises(live, all_enterprises).items():
        new = (set(tied) & wanted[user_id]) - excluded.get(user_id, set())
        if new:
            problems.append(f"{user_id}: 新增回避企业 / now tied to enterprise(s) {sorted(new)}")
    return problems


def require_pool_unchanged(draw: Draw, pairs_only: bool = False) -> None:
    """409 `draw.pool_changed` naming the inspectors, when `pool_changes` finds any."""
    problems = pool_changes(draw, pairs_only)
    if problems:
        raise Conflict(
            ErrorCode.DRAW_POOL_CHANGED,
            "抽查定义后执法人员的资格或回避情况已变化，本抽查不能继续，请作废后重新建立 / an "
            "inspector's certificate or ties changed since the draw was defined: abandon it "
            "and define a new one",
            {"inspectors": problems},
        )


def open_double_random_sites(site_ids: list[int]) -> list[int]:
    """Those of these sites that already have an open 双随机 task."""
    if not site_ids:
        return []
    query = (
        select(TaskSite.site_id)
        .join(Task, Task.id == TaskSite.task_id)
        .where(
            Task.status == TaskStatus.OPEN.value,
            Task.reason == TaskReason.DOUBLE_RANDOM.value,
            TaskSite.site_id.in_(site_ids),
        )
        .distinct()
    )
    return sorted(db.session.scalars(query))


def require_no_open_task(draw: Draw) -> None:
    """409 `draw.site_has_open_task` when a drawn site already has an open 双随机 task."""
    busy = open_double_random_sites([entry["site_id"] for entry in draw.result or []])
    if busy:
        raise Conflict(
            ErrorCode.DRAW_SITE_HAS_OPEN_TASK,
            "所抽场所已有未完成的双随机任务 / a drawn site already has an open 双随机 task: "
            + ", ".join(map(str, busy)),
            {"site_ids": busy},
        )


def get_for(user: User, draw_id: int) -> Draw:
    """A draw the user may see: staff of its city (404 for any other, as if absent)."""
    require_staff(user)
    draw = db.session.get(Draw, draw_id)
    scope = visible_city(user)
    if draw is None or (scope and draw.city != scope):
        raise NotFound(ErrorCode.DRAW_NOT_FOUND, f"抽查不存在 / no draw {draw_id}")
    return draw


def visible(user: User) -> list[Draw]:
    """The draws of the user's city, newest first."""
    require_staff(user)
    query = select(Draw).order_by(Draw.id.desc())
    scope = visible_city(user)
    if scope:
        query = query.where(Draw.city == scope)
    return list(db.session.scalars(query))


def is_revealed(draw: Draw) -> bool:
    """Issued, or abandoned after drawing: its secret and result are public."""
    return draw.status == DrawStatus.ISSUED or (
        draw.status == DrawStatus.ABANDONED and draw.seed is not None
    )


def is_public(draw: Draw) -> bool:
    """Whether anyone, without login, may read the draw's full record (/public/).

    A revealed record names the drawn sites. Published at issue, it would tell each drawn
    enterprise that inspectors are coming, and which two (by 执法证号), before they come:
    the point of a random inspection is that nobody knows (the lists are kept confidential
    until the inspection is carried out; only results are published). So an issued draw's
    record is public once none of its tasks is still open (each fulfilled or cancelled);
    until then /public/ shows its hashes, which already commit it to its result. A draw
    abandoned after drawing created no task and is public at once, so a re-roll shows."""
    if not is_revealed(draw):
        return False
    task_ids = draw.task_ids or []
    if draw.status != DrawStatus.ISSUED or not task_ids:
        return True
    still_open = db.session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.id.in_(task_ids), Task.status == TaskStatus.OPEN.value)
    )
    return not still_open


def published(draw: Draw) -> algorithm.Published:
    """What the draw publishes now: the secret, value and result only once issued — or once
    abandoned after it was drawn, so that what a re-roll threw away is public too."""
    issued = is_revealed(draw)
    return algorithm.Published(
        candidates=draw.candidates,
        candidate_hash=draw.candidate_hash,
        secret_hash=draw.secret_hash,
        secret=draw.secret if issued else None,
        value=draw.draw_value if issued else None,
        witness=draw.witness if issued else "",
        seed=draw.seed if issued else None,
        result=draw.result if issued else None,
    )


def public_view(draw: Draw) -> dict[str, Any]:
    """The published record of a draw, as the API and `draws verify` show it."""
    data = published(draw)
    return {
        "id": draw.id,
        "spec": algorithm.SPEC,
        "status": draw.status,
        "candidates": data.candidates,
        "candidate_hash": data.candidate_hash,
        "secret_hash": data.secret_hash,
        "secret": data.secret,
        "value": data.value,
        "witness": data.witness,
        "seed": data.seed,
        "result": data.result,
    }


def verify_stored(draw_id: int) -> tuple[Draw, list[str]]:
    """Re-derive a stored draw from its published record; the differences found.

    For an issued draw, the tasks issued must also match the result (site, checklist,
    inspectors), so tasks edited afterwards are reported too.
    """
    draw = db.session.get(Draw, draw_id)
    if draw is None:
        raise NotFound(ErrorCode.DRAW_NOT_FOUND, f"抽查不存在 / no draw {draw_id}")
    if draw.status != DrawStatus.ISSUED:
        return draw, [f"draw {draw_id} is {draw.status}: only an issued draw is checked"]
    return draw, algorithm.verify(published(draw)) + _tasks_differ(draw)


def _tasks_differ(draw: Draw) -> list[str]:
    """The issued tasks against the result: one task per drawn site, in order, with the
    draw's checklist and reference, its CURRENT inspectors exactly the drawn pair (lead
    first) and never another assigned, and not cancelled (a cancelled drawn task is a
    difference, its reason named)."""
    result = draw.result or []
    task_ids = draw.task_ids or []
    problems = []
    if len(task_ids) != len(result):
        problems.append(f"tasks: {len(task_ids)} issued for {len(result)} drawn sites")
    for index, (task_id, entry) in enumerate(zip(task_ids, result, strict=False), start=1):
        task = db.session.get(Task, task_id)
        if task is None:
            problems.append(f"task #{index}: task {task_id} does not exist")
            continue
        label = f"task #{index} ({task_id})"
        if [row.site_id for row in task.sites] != [entry["site_id"]]:
            problems.append(f"{label}: not the drawn site {entry['site_id']}")
        if task.checklist_id != draw.checklist_id or task.source_ref != f"draw:{draw.id}":
            problems.append(f"{label}: not this draw's checklist or reference")
        if task.reason != TaskReason.DOUBLE_RANDOM.value:
            problems.append(f"{label}: reason is {task.reason}, not double_random")
        if task.inspector_ids != list(entry["inspectors"]):
            problems.append(
                f"{label}: inspectors are {task.inspector_ids}, drawn {entry['inspectors']}"
            )
        others = sorted({row.user_id for row in task.inspectors} - set(entry["inspectors"]))
        if others and task.inspector_ids == list(entry["inspectors"]):
            problems.append(f"{label}: was reassigned to {others} in between")
        if task.status == TaskStatus.CANCELLED.value:
            problems.append(f"{label}: cancelled ({task.cancel_reason})")
    return problems


def candidate_sites(draw: Draw) -> dict[int, Site]:
    """The draw's candidate sites by id (for pages naming the result)."""
    document = json.loads(draw.candidates)
    ids = [site["site_id"] for site in document["sites"]]
    return {site.id: site for site in db.session.scalars(select(Site).where(Site.id.in_(ids)))}


def preview(user: User, fields: dict[str, Any]) -> dict[str, Any]:
    """The population's size, the sample a count or percent would take, and the pool size."""
    sites = population(user, fields)
    size = None
    if sites and (fields.get("count") is not None or fields.get("percent") is not None):
        size = sample_size(len(sites), fields.get("count"), fields.get("percent"))
    city = _draw_city(user, _criteria(fields), sites)
    return {
        "population": len(sites),
        "sample_size": size,
        "inspectors": len(certified_inspectors(city or None)),
    }


def badges_of(user_ids: set[int]) -> dict[int, str]:
    """Inspectors' 执法证号 (public: it is on the officer's ID card), by user id."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.badge_no).where(User.id.in_(sorted(user_ids)))
    ).all()
    return {user_id: badge or "" for user_id, badge in rows}


def public_record(draw_id: int) -> dict[str, Any]:
    """The record anyone may download without login (/public/draws/<id>.json): the published
    record of an issued draw (or one abandoned after drawing), the city that ran it, and for
    each drawn pair the inspectors' 执法证号 next to their user ids (which the hashed list
    holds; no names). 404 `draw.not_published` for any other draw: until issue the secret is
    not published, and a draw still pending reveals nothing more than its hashes on /public/.
    """
    draw = db.session.get(Draw, draw_id)
    if draw is None or not is_public(draw):
        raise NotFound(
            ErrorCode.DRAW_NOT_PUBLISHED,
            f"抽查 {draw_id} 尚未公开（抽中的检查完成后公开）/ draw {draw_id} has no published "
            "record yet (it is published once the drawn inspections are done)",
        )
    record = public_view(draw)
    paired = {user_id for entry in draw.result or [] for user_id in entry["inspectors"]}
    badges = badges_of(paired)
    record.update(
        {
            "city": draw.city,
            "authority": authority_of(draw),
            "created_at": draw.created_at.isoformat(),
            "drawn_at": draw.drawn_at.isoformat() if draw.drawn_at else None,
            "issued_at": draw.issued_at.isoformat() if draw.issued_at else None,
            "abandoned_at": draw.abandoned_at.isoformat() if draw.abandoned_at else None,
            "abandon_reason": draw.abandon_reason or "",
            "badges": {str(user_id): badges.get(user_id, "") for user_id in sorted(paired)},
        }
    )
    return record


def authority_of(draw: Draw) -> str:
    """Who ran the draw, as /public/ names it: the city of the supervisor who defined it
    (their 生态环境局), or the draw's city for an administrator without one."""
    creator = db.session.get(User, draw.created_by)
    city = (creator.city if creator is not None else None) or draw.city
    return f"{city}生态环境局 / {city} ecology and environment bureau" if city else ""


def names_of(user_ids: set[int]) -> dict[int, str]:
    """Inspectors' names for the supervisors' pages (never shown publicly)."""
    if not user_ids:
        return {}
    rows = db.session.scalars(select(User).where(User.id.in_(sorted(user_ids))))
    return {row.id: row.display_name or row.username for row in rows}
