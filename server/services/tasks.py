"""Tasks: who inspects which sites with which checklist, by when.

`create_task` is the one way a task comes to exist, whoever asks (a supervisor's page or
API call, a 双随机 draw, a clue, a finding's on-site verification, the re-visit scheduler).
It checks what the law and the registry require — at least two different active
inspectors (执法人员不少于两人), sites the creator may see and all of one city, a checklist
that applies to every site, a due date not in the past — and records the audit entry in
the same transaction. Every later change of a task's status or assignment is made by
`lifecycles.task`. Reading: `get_for`, `visible`, `overdue`, `for_inspector`.
"""

from __future__ import annotations

import unicodedata
import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import (
    Inspection,
    Role,
    Site,
    Task,
    TaskInspector,
    TaskReason,
    TaskSite,
    TaskStatus,
    User,
)
from server.services import audit, outbox, ties
from server.services import checklists as checklist_store
from server.services.clock import today
from server.services.errors import ErrorCode, Forbidden, Invalid, NotFound
from server.services.registry import visible_city

STAFF = (Role.SUPERVISOR, Role.ADMIN)
MIN_INSPECTORS = 2  # 执法人员不少于两人 (行政处罚法 第四十二条; 环境行政处罚办法)
MAX_INSPECTORS = 6
MAX_SITES = 50
MAX_NOTE = 2000
LOADED = (selectinload(Task.sites), selectinload(Task.inspectors))


ALLOWED_CONTROLS = "\t\n\r"
# Not seen by a reader: controls, formats (zero-width space, bidi overrides), separators.
INVISIBLE_CATEGORIES = ("Cc", "Cf", "Zs", "Zl", "Zp")


def has_visible(text: str) -> bool:
    """Whether a required reason says anything: at least one character a reader sees. A
    reason of zero-width spaces passed `strip()` and was published on /public/ as the
    reason a drawn task was cancelled or a draw abandoned."""
    return any(unicodedata.category(c) not in INVISIBLE_CATEGORIES for c in text)


def clean_text(value: Any, field: str, limit: int, code: ErrorCode = ErrorCode.TASK_INVALID) -> str:
    """A free-text field stripped; 422 when longer than `limit` or holding control
    characters other than tab and line breaks (a NUL cannot even be sent to PostgreSQL:
    a page's form would otherwise end in a 500) or lone surrogates."""
    text = str(value or "").strip()
    bad = any(
        (ord(c) < 32 and c not in ALLOWED_CONTROLS) or 0xD800 <= ord(c) <= 0xDFFF for c in text
    )
    if bad or len(text) > limit:
        raise Invalid(
            code,
            f"{field} 含控制字符或超过{limit}字 / {field}: control characters, or over {limit}",
            {field: [f"at most {limit} characters, no control characters"]},
        )
    return text


def _invalid(errors: dict[str, list[str]]) -> Invalid:
    return Invalid(ErrorCode.TASK_INVALID, "无法保存任务 / the task cannot be saved", errors)


def check_inspectors(inspector_ids: Sequence[int], city: str | None) -> list[User]:
    """The assigned inspectors, in order: two or more different, active inspector accounts,
    of the task's city when they are limited to one. 422 naming what is wrong."""
    ids = list(inspector_ids)
    if len(ids) != len(set(ids)):
        raise _invalid(
            {"inspector_ids": ["同一检查员不能重复指派 / the same inspector is named twice"]}
        )
    if len(ids) < MIN_INSPECTORS:
        raise _invalid(
            {
                "inspector_ids": [
                    f"执法人员不少于{MIN_INSPECTORS}人 / a task needs at least "
                    f"{MIN_INSPECTORS} different inspectors"
                ]
            }
        )
    if len(ids) > MAX_INSPECTORS:
        raise _invalid({"inspector_ids": [f"至多{MAX_INSPECTORS}人 / at most {MAX_INSPECTORS}"]})
    users = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}
    bad = [
        str(user_id)
        for user_id in ids
        if (user := users.get(user_id)) is None
        or user.role != Role.INSPECTOR
        or not user.active
        or (city is not None and user.city not in (None, city))
    ]
    if bad:
        raise _invalid(
            {
                "inspector_ids": [
                    f"不是本市在岗检查员 / not an active inspector of the task's city: "
                    f"{', '.join(bad)}"
                ]
            }
        )
    return [users[user_id] for user_id in ids]


DRAW_REF = "draw:"


def check_ties(inspectors: Sequence[User], sites: Sequence[Site]) -> None:
    """None of the inspectors is tied (回避) to an enterprise of the sites: 422
    `task.inspector_tied` naming them otherwise."""
    tied = ties.tied_enterprises(inspectors, {site.enterprise_id for site in sites})
    bad = {user_id: ids for user_id, ids in tied.items() if ids}
    if bad:
        raise Invalid(
            ErrorCode.TASK_INSPECTOR_TIED,
            "检查员须回避该企业 / an inspector is tied to (must not inspect) an enterprise of "
            "the task: " + ", ".join(str(user_id) for user_id in sorted(bad)),
            {"inspector_ids": [f"{uid}: tied to enterprise {ids}" for uid, ids in bad.items()]},
        )


MAX_AHEAD = timedelta(days=3 * 366)


def check_due(due_on: date) -> None:
    """Not in the past, and not years away (a typo'd year would hide a task for ever)."""
    if due_on < today():
        raise _invalid({"due_on": ["期限不能早于今天 / the due date is in the past"]})
    if due_on > today() + MAX_AHEAD:
        raise _invalid({"due_on": ["期限不能超过三年 / at most three years ahead"]})


def _sites(actor: User | None, site_ids: Sequence[int], checklist_id: str) -> list[Site]:
    ids = list(site_ids)
    if not ids or len(ids) > MAX_SITES:
        raise _invalid({"site_ids": [f"须指定1至{MAX_SITES}个场所 / name 1 to {MAX_SITES} sites"]})
    if len(ids) != len(set(ids)):
        raise _invalid({"site_ids": ["场所重复 / a site is named twice"]})
    rows = {
        site.id: site
        for site in db.session.scalars(
            select(Site).where(Site.id.in_(ids)).options(selectinload(Site.enterprise))
        )
    }
    scope = visible_city(actor) if actor is not None else None
    unknown = [
        str(site_id)
        for site_id in ids
        if (site := rows.get(site_id)) is None
        or not site.active
        or (scope and site.enterprise.city != scope)
    ]
    if unknown:
        raise _invalid({"site_ids": [f"场所不存在 / unknown sites: {', '.join(unknown)}"]})
    sites = [rows[site_id] for site_id in ids]
    if len({site.enterprise.city for site in sites}) > 1:
        raise _invalid({"site_ids": ["一个任务的场所须在同一城市 / one city a task"]})
    try:
        version = checklist_store.get_version(checklist_id, None)
    except NotFound:
        raise _invalid(
            {"checklist_id": [f"检查表不存在 / no checklist {checklist_id!r}"]}
        ) from None
    kinds = set(checklist_store.get_rules(checklist_id, version.version).site_kinds)
    wrong = [site.code for site in sites if site.kind not in kinds]
    if wrong:
        raise _invalid(
            {
                "checklist_id": [
                    f"检查表不适用于这些场所 / checklist {checklist_id} does not apply to "
                    f"{', '.join(wrong)}"
                ]
            }
        )
    return sites


def snapshot(task: Task) -> dict[str, Any]:
    """What the audit entry's details say of a task (its rows are snapshotted too)."""
    return {
        "id": task.id,
        "reason": task.reason,
        "status": task.status,
        "checklist_id": task.checklist_id,
        "due_on": task.due_on.isoformat(),
        "site_ids": task.site_ids,
        "inspector_ids": task.inspector_ids,
        "version": task.version,
    }


def create_task(
    *,
    actor: User | None,
    site_ids: Sequence[int],
    checklist_id: str,
    due_on: date,
    inspector_ids: Sequence[int],
    reason: str,
    note: str | None = None,
    source_ref: str | None = None,
    finding_id: int | None = None,
    compare_inspection_uuid: uuid_module.UUID | None = None,
    open_key: str | None = None,
    commit: bool = True,
    from_draw: bool = False,
) -> Task:
    """Create an open task and its audit entry (`task.created`); returns it.

    `actor` is the supervisor or admin who creates it, or None for the command line (the
    re-visit scheduler); an inspector or enterprise gets 403. `reason` is a `TaskReason`
    value. `source_ref` is the caller's own reference ("draw:3", "clue:5"); `open_key`, when
    given, must be unique among open tasks (an IntegrityError at flush otherwise: how a
    scheduler run twice creates nothing new). With `commit=False` the caller commits (a draw
    issuing many tasks at once, a clue turned into a task) — the audit entry is queued in
    the same transaction either way.

    Reason `double_random` and a `source_ref` starting "draw:" are reserved to the draw's
    issue (`from_draw=True`, draw_tasks.issue_tasks only): a hand-made task must not pass for
    a drawn one (nor reach /public/ as a 双随机 result). 422 `task.reserved_reason`.
    An inspector tied (回避) to an enterprise of the sites is refused: 422
    `task.inspector_tied`.
    """
    if actor is not None and actor.role not in STAFF:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可派发任务 / only supervisors create tasks"
        )
    if not from_draw and (
        reason == TaskReason.DOUBLE_RANDOM.value
        or (source_ref or "").strip().lower().startswith(DRAW_REF)
    ):
        raise Invalid(
            ErrorCode.TASK_RESERVED_REASON,
            "双随机任务只能由抽查下达产生 / only an issued 双随机 draw makes double_random tasks "
            "or tasks referring to a draw",
            {"reason": ["double_random and source_ref 'draw:…' are reserved to draws"]},
        )
    errors: dict[str, list[str]] = {}
    if reason not in {value.value for value in TaskReason}:
        errors["reason"] = [f"未知事由 / unknown reason {reason!r}"]
    if errors:
        raise _invalid(errors)
    note = clean_text(note, "note", MAX_NOTE)
    checklist_id = clean_text(checklist_id, "checklist_id", 60)
    if source_ref is not None:
        source_ref = clean_text(source_ref, "source_ref", 80) or None
    sites = _sites(actor, site_ids, checklist_id)
    city = sites[0].enterprise.city
    inspectors = check_inspectors(inspector_ids, city)
    check_ties(inspectors, sites)
    check_due(due_on)
    task = Task(
        reason=reason,
        checklist_id=checklist_id,
        city=city,
        due_on=due_on,
        note=note,
        source_ref=source_ref,
        open_key=open_key,
        finding_id=finding_id,
        compare_inspection_uuid=compare_inspection_uuid,
        version=1,
        created_by=actor.id if actor is not None else None,
        cancel_reason="",
        sites=[TaskSite(site_id=site.id, position=i) for i, site in enumerate(sites)],
        inspectors=[
            TaskInspector(user_id=user.id, position=i, active=True)
            for i, user in enumerate(inspectors)
        ],
    )
    db.session.add(task)
    db.session.flush()
    audit.record_action(
        actor,
        "task.created",
        ("task", str(task.id)),
        snapshot(task),
        created=[task, *task.sites, *task.inspectors],
    )
    # Its inspectors are mailed, and webhooks told, once this transaction commits.
    outbox.record(
        "task.created",
        {
            "task_id": task.id,
            "reason": reason,
            "checklist_id": checklist_id,
            "due_on": due_on.isoformat(),
            "site_ids": [site.id for site in sites],
            "inspector_ids": [user.id for user in inspectors],
        },
    )
    if commit:
        db.session.commit()
    return task


def _scoped(user: User) -> Select[Any]:
    """Tasks this user may read: an inspector their own, a supervisor their city's."""
    query = select(Task).options(*LOADED)
    if user.role == Role.INSPECTOR:
        mine = exists().where(
            TaskInspector.task_id == Task.id,
            TaskInspector.user_id == user.id,
            TaskInspector.active.is_(True),
        )
        return query.where(mine)
    if user.role not in STAFF:
        raise Forbidden(ErrorCode.AUTH_FORBIDDEN, "企业用户不能查看任务 / enterprises see no tasks")
    city = visible_city(user)
    return query.where(Task.city == city) if city else query


def get_for(user: User, task_id: int) -> Task:
    """One task its reader may see (404 otherwise: an inspector learns nothing of others')."""
    task = db.session.scalar(_scoped(user).where(Task.id == task_id))
    if task is None:
        raise NotFound(ErrorCode.TASK_NOT_FOUND, f"任务不存在 / no task {task_id}")
    return task


@dataclass(frozen=True)
class TaskFilter:
    status: str | None = None
    reason: str | None = None
    overdue: bool = False
    site_id: int | None = None


def _filtered(user: User, wanted: TaskFilter) -> Select[Any]:
    query = _scoped(user)
    if wanted.status:
        query = query.where(Task.status == wanted.status)
    if wanted.reason:
        query = query.where(Task.reason == wanted.reason)
    if wanted.overdue:
        query = query.where(Task.status == TaskStatus.OPEN.value, Task.due_on < today())
    if wanted.site_id is not None:
        query = query.where(
            exists().where(TaskSite.task_id == Task.id, TaskSite.site_id == wanted.site_id)
        )
    return query


def visible(user: User, wanted: TaskFilter | None = None, limit: int = 500) -> list[Task]:
    """Tasks this user may read, open ones first, by due date."""
    open_first = (Task.status != TaskStatus.OPEN.value).asc()
    query = _filtered(user, wanted or TaskFilter()).order_by(open_first, Task.due_on, Task.id)
    return list(db.session.scalars(query.limit(limit)))


def count(user: User, wanted: TaskFilter) -> int:
    query = _filtered(user, wanted).with_only_columns(func.count(Task.id))
    return db.session.scalar(query.order_by(None)) or 0


def overdue(user: User, limit: int = 20) -> list[Task]:
    """Open tasks past their due date (China time), the most late first (the dashboard)."""
    query = _filtered(user, TaskFilter(overdue=True)).order_by(Task.due_on, Task.id)
    return list(db.session.scalars(query.limit(limit)))


def is_overdue(task: Task) -> bool:
    """Overdue is derived, never stored: open and past its due date."""
    return task.status == TaskStatus.OPEN.value and task.due_on < today()


def open_verification(finding_id: int) -> Task | None:
    """The open on-site verification task of a finding, if any (the finding lifecycle asks
    before a close by click)."""
    query = select(Task).where(Task.finding_id == finding_id, Task.status == TaskStatus.OPEN.value)
    return db.session.scalars(query.limit(1)).first()


def sites_of(tasks: Sequence[Task]) -> dict[int, Site]:
    """The sites of these tasks, by id, in one query (for pages and the API)."""
    ids = {link.site_id for task in tasks for link in task.sites}
    if not ids:
        return {}
    query = select(Site).where(Site.id.in_(ids)).options(selectinload(Site.enterprise))
    return {site.id: site for site in db.session.scalars(query)}


def users_of(tasks: Sequence[Task]) -> dict[int, User]:
    ids = {user_id for task in tasks for user_id in task.inspector_ids}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def inspectors_for(user: User) -> list[User]:
    """Active inspectors a supervisor may assign (their city's, or unlimited ones)."""
    query = select(User).where(User.role == Role.INSPECTOR.value, User.active.is_(True))
    city = visible_city(user)
    if city:
        query = query.where((User.city == city) | User.city.is_(None))
    return list(db.session.scalars(query.order_by(User.username)))


def comparison(task: Task) -> dict[str, Any] | None:
    """For a re-visit: the closure inspection it compares with — when it was made and what
    each item was found to be — so the inspector on site and the reviewer see both."""
    if task.compare_inspection_uuid is None:
        return None
    closure = db.session.get(Inspection, task.compare_inspection_uuid)
    if closure is None:
        return None
    return {
        "inspection": str(closure.uuid),
        "finished_at": closure.finished_at,
        "answers": [
            {"item": answer.item_code, "value": answer.value, "verdict": answer.verdict}
            for answer in closure.answers
        ],
    }


def describe(
    task: Task, sites: dict[int, Site], people: dict[int, User], with_comparison: bool = True
) -> dict[str, Any]:
    """A task as the API and the field client read it (`sites_of`/`users_of` give the
    lookups, so a list costs two queries, not two per task)."""
    described_sites = []
    for link in task.sites:
        site = sites.get(link.site_id)
        described_sites.append(
            {
                "site_id": link.site_id,
                "code": site.code if site else "",
                "name": site.name if site else "",
                "enterprise": site.enterprise.name if site else "",
                "address": site.address if site else "",
                "lat": site.lat if site else None,
                "lon": site.lon if site else None,
                "inspection": str(link.inspection_uuid) if link.inspection_uuid else None,
            }
        )
    return {
        "id": task.id,
        "reason": task.reason,
        "status": task.status,
        "overdue": is_overdue(task),
        "checklist_id": task.checklist_id,
        "city": task.city,
        "due_on": task.due_on,
        "note": task.note,
        "source_ref": task.source_ref,
        "finding_id": task.finding_id,
        "version": task.version,
        "inspector_ids": task.inspector_ids,
        "inspectors": [
            (people[i].display_name or people[i].username) if i in people else str(i)
            for i in task.inspector_ids
        ],
        "sites": described_sites,
        "compare_with": comparison(task) if with_comparison else None,
        "created_at": task.created_at,
        "fulfilled_at": task.fulfilled_at,
        "cancelled_at": task.cancelled_at,
        "cancel_reason": task.cancel_reason,
    }


def side_by_side(task: Task) -> dict[str, Any] | None:
    """A re-visit beside the closure inspection it compares with, item by item: what the
    closure found and what the re-visit found (None for a task that compares with none)."""
    if task.compare_inspection_uuid is None:
        return None
    closure = db.session.get(Inspection, task.compare_inspection_uuid)
    if closure is None:
        return None
    covering = next((link.inspection_uuid for link in task.sites if link.inspection_uuid), None)
    revisit = db.session.get(Inspection, covering) if covering else None
    before = {answer.item_code: answer for answer in closure.answers}
    after = {answer.item_code: answer for answer in revisit.answers} if revisit else {}
    rows = []
    for code in [*before, *(code for code in after if code not in before)]:
        old, new = before.get(code), after.get(code)
        rows.append(
            {
                "item": code,
                "closure_value": old.value if old else None,
                "closure_verdict": old.verdict if old else None,
                "revisit_value": new.value if new else None,
                "revisit_verdict": new.verdict if new else None,
                "changed": bool(old and new and old.verdict != new.verdict),
            }
        )
    return {"closure": closure, "revisit": revisit, "rows": rows}
