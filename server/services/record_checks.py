"""What an on-site record (现场检查笔录) must be before the server keeps it as evidence.

A record is evidence in an enforcement case: the enterprise's representative signs it, and
the law asks that the officers who made it be identified by their 执法证 and not be tied to
the enterprise (行政处罚法 arts. 42–43: at least two officers, showing their certificates,
who withdraw where they have an interest). So each officer it names must be a real account
— an active inspector or supervisor of the site's city, not tied to the enterprise — named
as the account names them, with the 执法证号 on file (or, where none is on file yet, a badge
that is nobody else's; the review flags it); the first is the sender; two officers are two
people, each signing; the witness of a refusal is not one of them; every signature is its
own image; and it is signed while the inspection happened, not in 1970 or next year.

A record with one officer is kept (a device may be alone on site) but flagged for the
reviewer and marked on the PDF (`evidence_checks`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import InspectorConflict, Role, Site, User

OFFICER_ROLES = (Role.INSPECTOR, Role.SUPERVISOR)
# How far the signing time may lie outside the inspection's start and the device's send time.
SIGNING_TOLERANCE = timedelta(minutes=10)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _officer_problems(
    sender: User, site: Site, index: int, person: dict[str, Any], seen: set[int]
) -> list[tuple[str, str]]:
    """(field, message) for each thing wrong with the officer at `index`."""
    username = person.get("username") or ""
    if not username:
        return [("username", "须选择执法人员账户 / name the officer's account (username)")]
    account = db.session.scalar(select(User).where(User.username == username))
    if account is None or not account.active or account.role not in OFFICER_ROLES:
        return [("username", f"无此执法人员 / no active inspector or supervisor {username!r}")]
    if index == 0 and account.id != sender.id:
        return [("username", "第一检查人须为提交人 / the first officer is the sender")]
    if account.id in seen:
        return [("username", "两名检查人员须为两人 / the two officers must be two people")]
    seen.add(account.id)
    found: list[tuple[str, str]] = []
    names = {account.username, account.display_name}
    if person.get("name") not in names:
        found.append(
            ("name", f"姓名与账户不符（账户为{account.display_name}）/ not the account's name")
        )
    badge = person.get("badge") or ""
    if account.badge_no:
        if badge != account.badge_no:
            found.append(
                (
                    "badge",
                    f"执法证号与账户不符（账户为{account.badge_no}）/ the badge is not "
                    f"{username}'s on file ({account.badge_no})",
                )
            )
    elif badge:
        holder = db.session.scalar(select(User).where(User.badge_no == badge))
        if holder is not None:
            found.append(("badge", f"执法证号属于他人 / {badge} is another officer's"))
    city = site.enterprise.city
    if account.city and account.city not in (city, site.enterprise.city_code):
        found.append(("username", f"非本市执法人员 / {username} is not an officer of {city}"))
    tied = db.session.scalar(
        select(InspectorConflict.id).where(
            InspectorConflict.user_id == account.id,
            InspectorConflict.enterprise_id == site.enterprise_id,
        )
    )
    if tied is not None or account.enterprise_id == site.enterprise_id:
        found.append(
            ("username", f"{username} 与该企业有利害关系，应当回避 / tied to the enterprise")
        )
    return found


def problems(sender: User, site: Site | None, body: dict[str, Any]) -> dict[str, Any]:
    """The record's problems under `errors["record"]`, or {} (also when it has none)."""
    record = body.get("record")
    if record is None or site is None:
        return {}
    found: dict[str, Any] = {}
    people: dict[str, dict[str, list[str]]] = {}
    seen: set[int] = set()
    for index, person in enumerate(record["inspectors"]):
        for field, message in _officer_problems(sender, site, index, person, seen):
            people.setdefault(str(index), {}).setdefault(field, []).append(message)
    if people:
        found["inspectors"] = people
    if len(record["inspector_signatures"]) != len(record["inspectors"]):
        found["inspector_signatures"] = [
            "每名检查人员各自签名 / each officer named signs (one signature each)"
        ]
    signatures = [
        record.get("representative_signature"),
        record.get("witness_signature"),
        *record["inspector_signatures"],
    ]
    given = [sha for sha in signatures if sha]
    if len(set(given)) != len(given):
        found["signatures"] = ["每个签名须为各自的图像 / every signature is its own image"]
    witness = (record.get("witness") or {}).get("name") or ""
    if witness and witness in {person.get("name") for person in record["inspectors"]}:
        found["witness"] = ["见证人不能是检查人员 / the witness is not one of the officers"]
    signed = _moment(record["signed_at"])
    earliest = _moment(body["started_at"]) - SIGNING_TOLERANCE
    latest = _moment(body["device_time"]) + SIGNING_TOLERANCE
    if not earliest <= signed <= latest:
        found["signed_at"] = [
            "签署时间须在检查开始之后、提交之前 / signed between the start and the sending"
        ]
    return {"record": found} if found else {}
