"""Each enterprise's performance grade (绩效分级) and emergency reduction list (一厂一策).

Set by supervisors and admins; devices receive it with the enterprise's sites, so saving a
list moves those sites forward in the sites change feed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models import ReductionList, User, utcnow
from server.services import audit, registry
from server.services.errors import Conflict, ErrorCode, Invalid, NotFound
from server.services.feeds import next_change_seq

LEVELS = ("yellow", "orange", "red")


def _check_lines(lines: list[dict[str, Any]]) -> None:
    """Line names are unique (an inspector answers per line), and a limit says its share."""
    errors: dict[str, list[str]] = {}
    names = [line["name"].strip() for line in lines]
    for name in {n for n in names if names.count(n) > 1}:
        errors.setdefault("lines", []).append(f"line {name!r} is listed twice")
    for index, line in enumerate(lines):
        for level, measure in line["measures"].items():
            if measure["action"] == "limit" and measure.get("limit_percent") is None:
                errors[f"lines.{index}.measures.{level}"] = [
                    "a limit needs limit_percent (the share of normal load allowed)"
                ]
            if measure["action"] == "measures" and not (measure.get("text") or "").strip():
                errors[f"lines.{index}.measures.{level}"] = ["specific measures need their text"]
    if errors:
        raise Invalid(
            ErrorCode.REDUCTION_LIST_INVALID, "减排清单有误 / the reduction list is invalid", errors
        )


def snapshot(row: ReductionList) -> dict[str, Any]:
    return {
        "enterprise_id": row.enterprise_id,
        "performance_grade": row.performance_grade,
        "lines": row.lines,
        "version": row.version,
    }


def save(user: User, enterprise_id: int, fields: dict[str, Any]) -> ReductionList:
    """Create or replace the enterprise's list, record it, and send its sites to devices."""
    enterprise = registry.get_enterprise(user, enterprise_id)
    lines = [
        {**line, "name": line["name"].strip(), "measures": dict(line["measures"])}
        for line in fields["lines"]
    ]
    _check_lines(lines)
    row = _store(user, enterprise.id, fields, lines)
    for site in enterprise.sites:
        site.change_seq = next_change_seq(registry.SITES_FEED)
    db.session.flush()
    audit.record_action(
        user,
        "reduction_list.saved",
        ("enterprise", str(enterprise.id)),
        snapshot(row),
        created=[row] if row.version == 1 else (),
        touched=[row],
    )
    db.session.commit()
    return row


def _conflict(enterprise_id: int, expected: int) -> Conflict:
    current = db.session.scalar(
        select(ReductionList.version).where(ReductionList.enterprise_id == enterprise_id)
    )
    return Conflict(
        ErrorCode.REDUCTION_LIST_CONFLICT,
        f"减排清单已被他人修改（现为第{current or 0}版，本次修改基于第{expected}版）/ the list was "
        f"saved meanwhile: it is now version {current or 0}, this edit replaces {expected}",
        {"version": [str(current or 0)]},
    )


def _store(
    user: User, enterprise_id: int, fields: dict[str, Any], lines: list[dict[str, Any]]
) -> ReductionList:
    """Write the list as the next version of the one the edit replaces, or refuse.

    A conditional update (`… WHERE version = expected`) and, for the first version, the
    primary key: of two saves made at once, one wins and the other gets 409, so no version
    number is written twice and no edit silently overwrites another."""
    values = {
        "performance_grade": fields["performance_grade"],
        "lines": lines,
        "updated_by": user.id,
    }
    row = db.session.get(ReductionList, enterprise_id)
    expected = fields.get("version")
    if expected is None:
        expected = row.version if row is not None else 0
    if row is None:
        if expected != 0:
            raise _conflict(enterprise_id, expected)
        row = ReductionList(enterprise_id=enterprise_id, version=1, **values)
        db.session.add(row)
        try:
            db.session.flush()
        except IntegrityError:  # a first version saved by a concurrent request
            db.session.rollback()
            raise _conflict(enterprise_id, expected) from None
        return row
    moved = db.session.execute(
        update(ReductionList)
        .where(ReductionList.enterprise_id == enterprise_id, ReductionList.version == expected)
        .values(version=expected + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise _conflict(enterprise_id, expected)
    db.session.refresh(row)
    return row


def get(user: User, enterprise_id: int) -> ReductionList:
    enterprise = registry.get_enterprise(user, enterprise_id)
    row = db.session.get(ReductionList, enterprise.id)
    if row is None:
        raise NotFound(
            ErrorCode.REDUCTION_LIST_NOT_FOUND,
            f"该企业无减排清单 / enterprise {enterprise_id} has no reduction list",
        )
    return row
