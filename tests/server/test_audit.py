"""The audit log: one hash-chained entry per state change; `audit verify` finds tampering.

Each tampering test changes one thing behind the application's back, directly in the
database or on disk, and expects `lantian-server audit verify` to exit non-zero naming the
first entry that no longer matches.
"""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import select, text

import checklists as rules
from server.cli import main
from server.extensions import db
from server.models import GENESIS_HASH, AuditEntry, User
from server.services import accounts, audit, checklists
from server.services.credit_code import make_credit_code
from server.storage import photo_store
from tests.helpers import PASSWORD, current_version, inspection_body, new_id
from tests.server.history import FIX, HISTORY_ACTIONS, PHOTO, full_history, sha256

# What the app, registry and users fixtures add: every checklist's version, 2 enterprises,
# 8 sites, 6 users.
FIXTURE_ACTIONS = (
    ["checklist.loaded"] * len(rules.load_all())
    + ["enterprise.created"] * 2
    + ["site.created"] * 8
    + ["user.added"] * 6
)


def run(app: Flask, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def log() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def seq_of(action: str, nth: int = 0) -> int:
    return [entry.seq for entry in log() if entry.action == action][nth]


def next_in_chain(seq: int) -> AuditEntry:
    """The entry after `seq` in the same chain (the log has several, `AUDIT_CHAINS`)."""
    entries = log()
    entry = next(e for e in entries if e.seq == seq)
    return next(e for e in entries if e.chain == entry.chain and e.link == entry.link + 1)


def _has_next(entries: list[AuditEntry], entry: AuditEntry) -> bool:
    return any(e.chain == entry.chain and e.link == entry.link + 1 for e in entries)


def change(entry: AuditEntry) -> dict[str, Any]:
    return json.loads(entry.change)


def tamper(sql: str, **params: Any) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def assert_mismatch(app: Flask, seq: int, *words: str) -> Result:
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    first = next(line for line in result.output.splitlines() if "MISMATCH" in line)
    assert first.startswith(f"不符 / MISMATCH at #{seq} "), result.output
    for word in words:
        assert word in first, first
    return result


@pytest.fixture
def history(client: FlaskClient, headers: dict, registry: dict) -> dict[str, Any]:
    return full_history(client, headers, registry)


# --- Every state change writes one entry ----------------------------------------------------


def test_each_state_change_writes_an_entry(
    app: Flask, history: dict[str, Any], users: dict[str, User], tmp_path: Path
) -> None:
    entries = log()
    assert [e.action for e in entries] == FIXTURE_ACTIONS + HISTORY_ACTIONS
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    by_action = {e.action: e for e in reversed(entries)}  # the first of each action

    submitted = change(by_action["inspection.submitted"])
    assert by_action["inspection.submitted"].actor_id == users["inspector"].id
    assert by_action["inspection.submitted"].subject_id == history["inspection"]
    assert submitted["photos"] == [history["photos"][0]]
    revision = submitted["records"]["revision"][0]
    assert revision["number"] == 1 and revision["body_hash"] == audit.sha256_hex(
        audit.canonical_json(revision["body"])
    )
    assert {a["item"]: a["verdict"] for a in submitted["records"]["answer"]}["CB-10"] == (
        "non_compliant"
    )
    assert sorted(submitted["created"]["finding"]) == history["findings"]
    revised = change(entries[seq_of("inspection.revised") - 1])
    assert revised["records"]["revision"][0]["number"] == 2
    assert "铭牌20蒸吨（补拍）" in entries[seq_of("inspection.revised") - 1].change  # UTF-8 kept
    reviewed = change(by_action["inspection.reviewed"])["records"]
    assert reviewed["review"][0]["decision"] == "return"
    assert reviewed["inspection"][0]["status"] == "returned"
    notice = change(by_action["notice.issued"])["records"]
    assert notice["notice"][0]["findings"] == history["findings"]
    assert {f["status"] for f in notice["finding"]} == {"notified"}
    answered = change(by_action["finding.answered"])
    assert answered["records"]["response"][0]["text"] == "已停用该锅炉"
    assert answered["photos"] == [history["photos"][1]]
    assert by_action["finding.answered"].actor_id == users["enterprise"].id
    closed = change(entries[-1])["records"]
    assert closed["finding"][0]["status"] == "closed"
    assert closed["event"][0]["reason"] == "同意销号"

    # The command line: users added and revoked, a registry import that creates, then
    # changes, then changes nothing. The actor is "cli".
    before = len(log())
    assert run(app, "users", "add", "wang", "--role", "inspector", "--password", PASSWORD)
    assert run(app, "users", "revoke", "wang").exit_code == 0
    code = make_credit_code("91140400MA0AU0001")
    csv = tmp_path / "registry.csv"
    header = (
        "credit_code,enterprise_name,city,district,industry,contact_name,contact_phone,"
        "site_code,site_name,site_kind,address,lat,lon,radius_m\n"
    )
    row = f"{code},长治审计公司,长治,潞州区,水泥,张,139,AU-001,厂区,industrial,路1号,36.1,113.1,\n"
    csv.write_text(header + row, encoding="utf-8")
    assert run(app, "sites", "import", str(csv)).exit_code == 0
    csv.write_text(header + row.replace(",张,139,", ",李,138,"), encoding="utf-8")
    assert run(app, "sites", "import", str(csv)).exit_code == 0
    assert run(app, "sites", "import", str(csv)).exit_code == 0
    added = log()[before:]
    assert [e.action for e in added] == [
        "user.added",
        "user.revoked",
        "enterprise.created",
        "site.created",
        "registry.imported",
        "enterprise.updated",
        "registry.imported",
        "registry.imported",
    ]
    assert {e.actor_id for e in added} == {None}
    assert change(added[5])["details"] == {"changed": ["contact_name", "contact_phone"]}
    assert change(added[1])["details"] == {"tokens_revoked": 0}
    imported = change(added[4])
    assert imported["details"] == {"enterprises": 1, "sites": 1}
    assert added[4].subject_id == audit.sha256_hex(header + row)
    assert run(app, "audit", "verify").exit_code == 0


def test_a_rolled_back_change_leaves_no_entry(
    app: Flask, client: FlaskClient, headers: dict, registry: dict
) -> None:
    before = len(log())
    accounts.add_user("ghost", "inspector", PASSWORD)  # recorded, then rolled back
    db.session.rollback()
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    site = registry["sites"]["SZ-boiler_house"]
    refused = inspection_body(
        site.id, "coal-and-boilers", version, [{"item": "CB-10", "value": 20, "photos": []}]
    )  # a failed item without its photo: 422
    response = client.put(
        f"/api/v1/inspections/{new_id()}", json=refused, headers=headers["inspector"]
    )
    assert response.status_code == 422
    assert run(app, "users", "add", "sup", "--role", "inspector", "--password", PASSWORD)
    assert len(log()) == before
    assert db.session.scalar(select(User).where(User.username == "ghost")) is None
    # The next change chains on the last committed entry as if nothing had happened.
    accounts.add_user("real", "inspector", PASSWORD)
    db.session.commit()
    assert len(log()) == before + 1
    assert audit.verify(photo_store()).ok


def test_concurrent_writers_keep_their_chains(app: Flask, users: dict[str, User]) -> None:
    """Writers in parallel (threads with their own sessions) leave every chain unbroken,
    and the whole log numbered without a gap."""
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        with app.app_context():
            try:
                for index in range(8):
                    accounts.add_user(f"w{worker}-{index}", "inspector", PASSWORD)
                    db.session.commit()
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = log()
    assert len(entries) == len(FIXTURE_ACTIONS) + 6 * 8
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    chains = {e.chain for e in entries}
    assert len(chains) > 1  # the writers' subjects spread over the chains
    for chain in chains:
        own = [e for e in entries if e.chain == chain]
        assert [e.link for e in own] == list(range(1, len(own) + 1))
        assert all(e.prev_hash == p.entry_hash for p, e in itertools.pairwise(own))
    report = audit.verify(photo_store())
    assert report.ok, report.problems


def test_a_photo_is_recorded_once_with_its_facts(
    app: Flask, client: FlaskClient, headers: dict
) -> None:
    """Its EXIF time and place are evidence: recorded when the row is made; the same bytes
    sent again, and checklists reloaded unchanged, add nothing."""
    before = len(log())
    path = f"/api/v1/photos/{sha256(PHOTO)}"
    assert client.put(path, data=PHOTO, headers=headers["inspector"]).status_code == 201
    assert client.put(path, data=PHOTO, headers=headers["inspector"]).status_code == 200
    checklists.load_rule_files()
    added = log()[before:]
    assert [e.action for e in added] == ["photo.received"]
    assert added[0].subject_id == sha256(PHOTO)
    record = change(added[0])
    assert record["v"] == audit.FORMAT_VERSION
    photo = record["records"]["photo"][0]
    assert photo["taken_at"] and photo["lat"] and photo["lon"], photo
    assert photo["size"] == len(PHOTO)


# --- Verification ---------------------------------------------------------------------------


def test_verify_passes_on_untouched_records(app: Flask, history: dict[str, Any]) -> None:
    result = run(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "the chain is intact" in result.output
    entries = log()
    assert f"head: {entries[-1].seq}:{entries[-1].entry_hash}" in result.output
    assert entries[0].prev_hash == GENESIS_HASH
    report = audit.verify(photo_store())
    assert report.entries == len(FIXTURE_ACTIONS + HISTORY_ACTIONS)
    assert report.photos_checked == 2 and report.photos_pending == []
    # An anchor written down earlier holds; a wrong one does not.
    anchor = f"{entries[5].seq}:{entries[5].entry_hash}"
    assert run(app, "audit", "verify", "--anchor", anchor).exit_code == 0
    wrong = run(app, "audit", "verify", "--anchor", f"6:{'ab' * 32}")
    assert wrong.exit_code == 1 and "anchor" in wrong.output
    shown = run(app, "audit", "log", "--subject", f"finding:{history['findings'][0]}")
    assert shown.exit_code == 0 and "finding.verified" in shown.output


@pytest.mark.tampers_audit
def test_verify_catches_edited_answer(app: Flask, history: dict[str, Any]) -> None:
    tamper(
        "UPDATE answers SET value = '30' WHERE item_code = 'CB-10' AND revision_number = 2",
    )
    assert_mismatch(app, seq_of("inspection.revised"), "answer", "value: 30 (log: 20)")


@pytest.mark.tampers_audit
def test_verify_catches_edited_revision_body(
    app: Flask, history: dict[str, Any], engine_name: str
) -> None:
    row = db.session.execute(
        text("SELECT id, body FROM inspection_revisions WHERE number = 1")
    ).one()
    body = row.body if isinstance(row.body, dict) else json.loads(row.body)
    body["answers"][1]["note"] = "篡改"
    cast = "CAST(:body AS jsonb)" if engine_name == "postgresql" else ":body"
    tamper(
        f"UPDATE inspection_revisions SET body = {cast} WHERE id = :id",
        body=json.dumps(body, ensure_ascii=False),
        id=row.id,
    )
    assert_mismatch(app, seq_of("inspection.submitted"), "revision", "body")


@pytest.mark.tampers_audit
def test_verify_catches_edited_revision_hash(app: Flask, history: dict[str, Any]) -> None:
    tamper("UPDATE inspection_revisions SET body_hash = :h WHERE number = 2", h="0" * 64)
    assert_mismatch(app, seq_of("inspection.revised"), "revision", "body_hash")


@pytest.mark.tampers_audit
def test_verify_catches_replaced_photo_file(app: Flask, history: dict[str, Any]) -> None:
    sha = history["photos"][0]
    path = Path(app.config["PHOTO_DIR"]) / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == PHOTO
    path.write_bytes(FIX)  # another real photo under the inspector's photo's name
    assert_mismatch(app, seq_of("inspection.submitted"), f"photo {sha}", sha256(FIX))


@pytest.mark.tampers_audit
def test_verify_catches_a_deleted_photo_file(app: Flask, history: dict[str, Any]) -> None:
    sha = history["photos"][1]
    (Path(app.config["PHOTO_DIR"]) / sha[:2] / sha[2:4] / sha).unlink()
    assert_mismatch(app, seq_of("finding.answered"), f"photo {sha} is missing")


@pytest.mark.tampers_audit
def test_verify_catches_edited_audit_row(app: Flask, history: dict[str, Any]) -> None:
    seq = seq_of("finding.verified", 1)
    # Claim someone else closed the finding, in the log only.
    tamper("UPDATE audit_log SET actor_id = 999 WHERE seq = :seq", seq=seq)
    assert_mismatch(app, seq, "finding.verified", "entry was edited")


@pytest.mark.tampers_audit
def test_verify_catches_edited_audit_row_with_recomputed_hash(
    app: Flask, history: dict[str, Any]
) -> None:
    """A forger who edits an entry and recomputes its hash breaks the link to the next one,
    and the entry no longer matches the rows it vouches for."""
    seq = seq_of("finding.verified", 0)
    entry = log()[seq - 1]
    forged = entry.change.replace("照片看不到铭牌", "同意销号")
    digest = audit.entry_hash(entry, change=forged)
    tamper(
        "UPDATE audit_log SET change = :c, entry_hash = :h WHERE seq = :s",
        c=forged,
        h=digest,
        s=seq,
    )
    result = assert_mismatch(app, next_in_chain(seq).seq, "prev_hash")
    assert f"also #{seq} finding.verified" in result.output
    assert "照片看不到铭牌" in result.output  # what the rows still say


@pytest.mark.tampers_audit
@pytest.mark.parametrize("garbage", ["[]", '{"records": {"answer": [7]}}', "not json"])
def test_verify_survives_a_garbled_audit_row(
    app: Flask, history: dict[str, Any], garbage: str
) -> None:
    seq = seq_of("inspection.revised")
    tamper("UPDATE audit_log SET change = :c WHERE seq = :seq", c=garbage, seq=seq)
    result = assert_mismatch(app, seq, "inspection.revised")
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.tampers_audit
def test_verify_catches_deleted_audit_row(app: Flask, history: dict[str, Any]) -> None:
    # An entry in the middle of its chain: the notice, or the first after it that has one.
    entries = log()
    start = seq_of("notice.issued")
    seq = next(e.seq for e in entries if e.seq >= start and _has_next(entries, e))
    after = next_in_chain(seq)
    tamper("DELETE FROM audit_log WHERE seq = :seq", seq=seq)
    link = after.link - 1
    assert_mismatch(app, after.seq, f"entries {link}–{link} are missing")


@pytest.mark.tampers_audit
def test_verify_catches_deleted_last_audit_row(app: Flask, history: dict[str, Any]) -> None:
    last = log()[-1].seq
    tamper("DELETE FROM audit_log WHERE seq = :seq", seq=last)
    assert_mismatch(app, last, "removed from the end")


@pytest.mark.tampers_audit
def test_verify_catches_edited_finding_and_inserted_event(
    app: Flask, history: dict[str, Any], users: dict[str, User]
) -> None:
    other = history["findings"][1]
    tamper("UPDATE findings SET status = 'closed' WHERE id = :id", id=other)
    assert_mismatch(app, seq_of("notice.issued"), f"finding {other}", "status")
    tamper(
        "INSERT INTO finding_events (finding_id, from_status, to_status, actor_id, reason, "
        "created_at) VALUES (:f, 'notified', 'closed', :a, '', CURRENT_TIMESTAMP)",
        f=other,
        a=users["supervisor"].id,
    )
    result = run(app, "audit", "verify")
    assert "was created without an audit entry" in result.output


def test_verify_lists_photos_not_uploaded_yet(
    app: Flask, client: FlaskClient, headers: dict, registry: dict
) -> None:
    """A photo cited but not yet uploaded is on its way from a device: listed, not a failure
    unless --strict."""
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    missing = "ab" * 32
    body = inspection_body(
        registry["sites"]["SZ-boiler_house"].id,
        "coal-and-boilers",
        version,
        [
            {"item": "CB-09", "value": "yes", "note": "", "photos": []},
            {"item": "CB-10", "value": 20, "note": "", "photos": [missing]},
        ],
    )
    put = client.put(f"/api/v1/inspections/{new_id()}", json=body, headers=headers["inspector"])
    assert put.status_code == 201
    assert audit.verify(photo_store()).photos_pending == [missing]
    assert run(app, "audit", "verify").exit_code == 0
    strict = run(app, "audit", "verify", "--strict")
    assert strict.exit_code == 1 and "never uploaded" in strict.output
