"""The signed on-site record (现场检查笔录) of an inspection, kept with it on the device.

Who was there (one or two inspectors, the enterprise's representative, or a witness when the
representative refused to sign) and their signatures. A signature is evidence like a photo:
a PNG named by its SHA-256, kept in the photo directory and sent by the same sync, so the
server can check that the bytes it holds are the bytes signed here. The record is frozen
with the inspection when it is finished and travels in its body as `record`.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from field_client import colleagues
from field_client.errors import FieldError
from field_client.store import EDITABLE, Store, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS inspection_records (
    inspection_uuid TEXT PRIMARY KEY REFERENCES inspections (uuid), content TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
MAX_SIGNATURE_BYTES = 2 * 1024 * 1024
SIGNATURE_ROLES = ("representative", "witness", "inspector", "inspector2")


@dataclass(frozen=True)
class Signature:
    sha256: str
    data: bytes
    width: int
    height: int


def ensure_schema(store: Store) -> None:
    store.db.execute(SCHEMA)


def signature(data: bytes) -> Signature:
    """A drawn signature as evidence: a real PNG with some ink on it, named by its hash."""
    from PIL import Image, UnidentifiedImageError

    if not data or len(data) > MAX_SIGNATURE_BYTES:
        raise FieldError("签名图像无效 / the signature image is empty or too large")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise FieldError("签名必须是PNG图像 / a signature must be a PNG image")
            image.load()
            size = image.size
            ink = image.convert("LA").getextrema()[1]  # alpha: all 0 means nothing drawn
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise FieldError(f"签名图像无效 / the signature image is broken: {error}") from None
    if ink[1] == 0:
        raise FieldError("签名为空 / the signature is empty")
    return Signature(hashlib.sha256(data).hexdigest(), data, size[0], size[1])


def _person(raw: Any, *fields: str) -> dict[str, str]:
    return {name: str((raw or {}).get(name, "")).strip()[:100] for name in fields}


def validate(content: dict[str, Any]) -> list[str]:
    """What keeps the record from being signed, in words for the inspector."""
    problems = []
    images = [
        content["representative_signature"],
        content["witness_signature"],
        *content["inspector_signatures"],
    ]
    images = [sha for sha in images if sha]
    people = [*content["inspectors"], content["representative"] or {}, content["witness"] or {}]
    if any("\x00" in str(value) for person in people for value in person.values()):
        # The server refuses any text holding NUL: the frozen inspection would never sync.
        problems.append("含有空字符 / a name or number contains a NUL character")
    if len(set(images)) != len(images):
        problems.append("每人须各自签名 / each person signs for themselves (one image twice)")
    if not content["inspectors"] or not content["inspectors"][0]["name"]:
        problems.append("请填写检查人员 / name the inspector")
    if not content["inspector_signatures"]:
        problems.append("检查人员须签名 / the inspector must sign")
    if content["refused"]:
        if not content["witness"]["name"]:
            problems.append("拒签须有见证人 / a refusal needs a witness's name")
        if not content["witness_signature"]:
            problems.append("见证人须签名 / the witness must sign")
    else:
        if not content["representative"]["name"]:
            problems.append("请填写企业在场人员 / name the enterprise's representative")
        if not content["representative_signature"]:
            problems.append(
                "企业在场人员须签名，或记录拒签 / the representative signs, or the refusal is "
                "recorded"
            )
    return problems


def _inspector(store: Store, raw: Any, username: str | None) -> dict[str, str]:
    """An officer as the record names them: the account (`username`, or the colleague the
    name designates) under its own name and with the 执法证号 on file, which win over typed
    ones (the server refuses a record that misnames an account). Where the device knows its
    colleagues, someone else is refused here rather than by the server after the fact; a
    device that never pulled them keeps what was typed."""
    person = _person(raw, "name", "badge")
    known = colleagues.person(store, username) if username else None
    if known is None and not username and person["name"]:
        known = colleagues.person(store, person["name"])
    if known is None:
        if colleagues.colleagues(store) and person["name"]:
            raise FieldError(
                f"{person['name']} 不是本设备已知的执法人员，请先更新 / {person['name']} is not an "
                "officer this device knows: pull, or pick from the list"
            )
        return person
    return {
        "username": known["username"],
        "name": known.get("display_name") or known["username"],
        "badge": known.get("badge_no") or person["badge"],
    }


def save(
    store: Store,
    uuid: str,
    fields: dict[str, Any],
    signatures: dict[str, bytes],
    signed_in: str | None = None,
) -> dict[str, Any]:
    """Check and keep the record and its signatures together (all or nothing).

    `signed_in` is the device's user, the first inspector; the second is matched to a
    colleague by username or name."""
    row = store.inspection(uuid)
    if row["state"] not in EDITABLE:
        raise FieldError(f"检查已完成（{row['state']}）/ the inspection is {row['state']}")
    signed = {role: signature(data) for role, data in signatures.items() if data}
    inspectors = [_inspector(store, fields.get("inspector"), signed_in)]
    if str((fields.get("inspector2") or {}).get("name") or "").strip():
        second = _inspector(store, fields.get("inspector2"), None)
        if second.get("username") and second.get("username") == inspectors[0].get("username"):
            raise FieldError("两名检查人员不能是同一人 / the two inspectors must be two people")
        inspectors.append(second)
    refused = bool(fields.get("refused"))
    content = {
        "inspectors": inspectors,
        "representative": _person(fields.get("representative"), "name", "position", "phone"),
        "representative_signature": None
        if refused or "representative" not in signed
        else signed["representative"].sha256,
        "refused": refused,
        "witness": _person(fields.get("witness") if refused else None, "name", "phone"),
        "witness_signature": signed["witness"].sha256 if refused and "witness" in signed else None,
        "inspector_signatures": [
            signed[role].sha256 for role in ("inspector", "inspector2") if role in signed
        ][: len(inspectors)],
        "signed_at": now_iso(),
    }
    problems = validate(content)
    if problems:
        raise FieldError("；".join(problems))
    ensure_schema(store)
    used = set(hashes(content))
    for sign in signed.values():
        if sign.sha256 in used:
            store.write_photo_file(sign.sha256, sign.data)
    with store.transaction() as db:
        # The state again, inside the write: a finish (another tap, a sync) that froze the
        # inspection since the check above makes this roll back, never change a sent body.
        store.touch_editable(db, uuid)
        for role, sign in signed.items():
            if sign.sha256 not in used:
                continue
            db.execute(
                "INSERT INTO photos (sha256, original_sha256, size, width, height, source_name, "
                "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                (
                    sign.sha256,
                    sign.sha256,
                    len(sign.data),
                    sign.width,
                    sign.height,
                    f"signature-{role}.png",
                    now_iso(),
                ),
            )
        db.execute(
            "INSERT INTO inspection_records (inspection_uuid, content, updated_at) "
            "VALUES (?, ?, ?) ON CONFLICT (inspection_uuid) DO UPDATE SET "
            "content = excluded.content, updated_at = excluded.updated_at",
            (uuid, json.dumps(content, ensure_ascii=False), now_iso()),
        )
    return content


def load(store: Store, uuid: str) -> dict[str, Any] | None:
    """The record kept for the inspection, or None (one made with the CLI has none)."""
    made = store.db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inspection_records'"
    ).fetchone()
    if made is None:  # no record was ever made on this device
        return None
    row = store.db.execute(
        "SELECT content FROM inspection_records WHERE inspection_uuid = ?", (uuid,)
    ).fetchone()
    return json.loads(row[0]) if row else None


def hashes(content: dict[str, Any] | None) -> list[str]:
    """Every signature the record cites, once each."""
    if not content:
        return []
    found = [content.get("representative_signature"), content.get("witness_signature")]
    found += content.get("inspector_signatures") or []
    return list(dict.fromkeys(sha for sha in found if sha))
