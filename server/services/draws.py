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

from sqlalchemy import select

from server.extensions import db
from server.models import (
    Draw,
    DrawStatus,
    Enterprise,
    InspectorConflict,
    Role,
    Site,
    Task,
    User,
)
from server.services import audit, checklists, law
from server.services import draw_algorithm as algorithm
from server.services.clock import today
from server.services.errors import ErrorCode, Forbidden, Invalid, NotFound
from server.services.registry import visible_city

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
    tied: dict[int, set[int]] = {user.id: set() for user in pool}
    for user in pool:
        if user.enterprise_id in enterprise_ids:
            tied[user.id].add(user.enterprise_id)
    if pool and enterprise_ids:
        rows = db.session.execute(
            select(InspectorConflict.user_id, InspectorConflict.enterprise_id).where(
                InspectorConflict.user_id.in_(list(tied)),
                InspectorConflict.enterprise_id.in_(sorted(enterprise_ids)),
            )
        )
        for user_id, enterprise_id in rows:
            tied[user_id].add(enterprise_id)
    return {user_id: sorted(ids) for user_id, ids in tied.items()}


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
    _one_city(sites)
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


def published(draw: Draw) -> algorithm.Published:
    """What the draw publishes now: the secret, value and result only once issued."""
    issued = draw.status == DrawStatus.ISSUED
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
        return draw, [f"draw {draw_id} is {draw.status}: only an issued draw reveals its secret"]
    return draw, algorithm.verify(published(draw)) + _tasks_differ(draw)


def _tasks_differ(draw: Draw) -> list[str]:
    """The issued tasks against the result: one task per drawn site, in order, with the
    draw's checklist and the drawn pair among the inspectors it was ever given (a later
    reassignment is the tasks' business, not a change of the draw)."""
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
        given = {row.user_id for row in task.inspectors}
        if [row.site_id for row in task.sites] != [entry["site_id"]]:
            problems.append(f"task #{index} ({task_id}): not the drawn site {entry['site_id']}")
        if task.checklist_id != draw.checklist_id or task.source_ref != f"draw:{draw.id}":
            problems.append(f"task #{index} ({task_id}): not this draw's checklist or reference")
        if not set(entry["inspectors"]) <= given:
            problems.append(
                f"task #{index} ({task_id}): drawn inspectors {entry['inspectors']} were not "
                "assigned"
            )
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
    city = _draw_city(user, _criteria(fields))
    return {
        "population": len(sites),
        "sample_size": size,
        "inspectors": len(certified_inspectors(city or None)),
    }


def names_of(user_ids: set[int]) -> dict[int, str]:
    """Inspectors' names for the supervisors' pages (never shown publicly)."""
    if not user_ids:
        return {}
    rows = db.session.scalars(select(User).where(User.id.in_(sorted(user_ids))))
    return {row.id: row.display_name or row.username for row in rows}
