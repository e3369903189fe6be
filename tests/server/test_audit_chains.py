"""The audit log in several chains (issue 18): writers to different chains never wait for
each other, and `audit verify` still catches tampering in any chain, an entry dropped or
moved, and a chain rewritten behind a checkpoint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import select, text

from server.cli import main
from server.extensions import db
from server.models import AuditEntry
from server.services import audit
from server.services.audit.hashing import CLI_ACTOR, canonical_json, sha256_hex, utc_text
from tests.server.history import full_history


def run(app: Flask, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def log() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def tamper(sql: str, **params: Any) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def first_mismatch(app: Flask) -> str:
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    return next(line for line in result.output.splitlines() if "MISMATCH" in line)


@pytest.fixture
def history(client: FlaskClient, headers: dict, registry: dict) -> dict[str, Any]:
    return full_history(client, headers, registry)


def by_chain(entries: list[AuditEntry]) -> dict[int, list[AuditEntry]]:
    chains: dict[int, list[AuditEntry]] = {}
    for entry in entries:
        chains.setdefault(entry.chain, []).append(entry)
    return chains


def test_entries_spread_over_chains_each_gap_free(app: Flask, history: dict[str, Any]) -> None:
    chains = by_chain(log())
    assert len(chains) >= 4, sorted(chains)  # 8 chains, a few dozen subjects
    for entries in chains.values():
        assert [e.link for e in entries] == list(range(1, len(entries) + 1))
    # One subject's entries share a chain, so its history reads in one place.
    for entry in log():
        assert entry.chain == audit.chain_of(entry.subject_type, entry.subject_id, 8)
    report = audit.verify(_store())
    assert report.ok, report.problems
    assert {chain: head[0] for chain, head in report.heads.items()} == {
        chain: len(entries) for chain, entries in chains.items()
    }


def _store():  # type: ignore[no-untyped-def]
    from server.services.photos import current_store

    return current_store()


@pytest.mark.tampers_audit
def test_an_edit_is_caught_in_every_chain(app: Flask, history: dict[str, Any]) -> None:
    """Each chain in turn: one of its entries edited, and verify names that entry."""
    chains = by_chain(log())
    for chain, entries in chains.items():
        victim = entries[len(entries) // 2]
        seq, actor = victim.seq, victim.actor_id
        tamper("UPDATE audit_log SET actor_id = 999 WHERE seq = :s", s=seq)
        line = first_mismatch(app)
        assert line.startswith(f"不符 / MISMATCH at #{seq} "), (chain, line)
        assert "entry was edited" in line
        tamper("UPDATE audit_log SET actor_id = :a WHERE seq = :s", a=actor, s=seq)
    assert run(app, "audit", "verify").exit_code == 0


@pytest.mark.tampers_audit
def test_a_dropped_entry_is_caught_in_its_chain(app: Flask, history: dict[str, Any]) -> None:
    chains = by_chain(log())
    chain, entries = next((c, e) for c, e in sorted(chains.items()) if c != 0 and len(e) >= 3)
    dropped, after = entries[1], entries[2]
    tamper("DELETE FROM audit_log WHERE seq = :s", s=dropped.seq)
    line = first_mismatch(app)
    assert line.startswith(f"不符 / MISMATCH at #{after.seq} "), line
    assert f"chain {chain}: entries 2–2 are missing" in line


@pytest.mark.tampers_audit
def test_the_last_entry_of_a_chain_dropped_is_caught(app: Flask, history: dict[str, Any]) -> None:
    chains = by_chain(log())
    chain, entries = next((c, e) for c, e in sorted(chains.items()) if c != 0)
    tamper("DELETE FROM audit_log WHERE seq = :s", s=entries[-1].seq)
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"chain {chain} ends at #{len(entries) - 1}" in result.output
    assert "removed from the end" in result.output


@pytest.mark.tampers_audit
def test_entries_reordered_in_a_chain_are_caught(app: Flask, history: dict[str, Any]) -> None:
    """Two neighbours in one chain swap places (their links): hashes and links break."""
    chains = by_chain(log())
    _, entries = next((c, e) for c, e in sorted(chains.items()) if len(e) >= 3)
    (one, one_link), (two, two_link) = [(e.seq, e.link) for e in entries[:2]]
    tamper("UPDATE audit_log SET link = -1 WHERE seq = :s", s=one)
    tamper("UPDATE audit_log SET link = :l WHERE seq = :s", l=one_link, s=two)
    tamper("UPDATE audit_log SET link = :l WHERE seq = :s", l=two_link, s=one)
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "entry was edited" in result.output or "reordered" in result.output


@pytest.mark.tampers_audit
def test_an_entry_moved_to_another_chain_is_caught(app: Flask, history: dict[str, Any]) -> None:
    entries = log()
    victim = entries[-1]
    other = (victim.chain + 1) % 8
    tamper("UPDATE audit_log SET chain = :c, link = 999 WHERE seq = :s", c=other, s=victim.seq)
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "entry was edited" in result.output


@pytest.mark.tampers_audit
def test_a_chain_rewritten_behind_a_checkpoint_is_caught(
    app: Flask, history: dict[str, Any]
) -> None:
    """A forger who rewrites one chain consistently (every hash recomputed) passes the walk
    of that chain, but no longer matches the checkpoint that bound its head."""
    checkpoint = run(app, "audit", "checkpoint")
    assert checkpoint.exit_code == 0, checkpoint.output
    anchor = checkpoint.output.strip().rsplit(" ", 1)[-1]
    assert run(app, "audit", "verify", "--anchor", anchor).exit_code == 0
    chains = by_chain(log())
    bound = next(e for e in log() if e.action == audit.CHECKPOINT_ACTION)
    chain, entries = next(
        (c, e) for c, e in sorted(chains.items()) if c != bound.chain and len(e) >= 2
    )
    prev = None
    for index, entry in enumerate(entries):
        actor = 4242 if index == 0 else entry.actor_id
        prev_hash = entry.prev_hash if prev is None else prev
        content = {
            "seq": entry.seq,
            "at": utc_text(entry.at),
            "actor": CLI_ACTOR if actor is None else actor,
            "action": entry.action,
            "subject": {"type": entry.subject_type, "id": entry.subject_id},
            "change": json.loads(entry.change),
            "chain": entry.chain,
            "link": entry.link,
        }
        digest = sha256_hex(prev_hash + canonical_json(content))
        tamper(
            "UPDATE audit_log SET actor_id = :a, prev_hash = :p, entry_hash = :h WHERE seq = :s",
            a=actor,
            p=prev_hash,
            h=digest,
            s=entry.seq,
        )
        prev = digest
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"chain {chain} entry {entries[-1].link} is not the one this checkpoint" in (
        result.output
    )


def test_an_entry_made_before_chains_hashes_as_it_did(app: Flask) -> None:
    """Chain 0 with link = seq (every entry migration 0013 found) is hashed without chain
    and link, exactly as before chains existed, so an old log still verifies."""
    entry = AuditEntry(
        seq=5,
        chain=0,
        link=5,
        at=log()[0].at,
        actor_id=None,
        action="checklist.loaded",
        subject_type="checklist",
        subject_id="coal",
        change='{"v":2}',
        prev_hash="a" * 64,
    )
    old = {
        "seq": 5,
        "at": utc_text(entry.at),
        "actor": CLI_ACTOR,
        "action": "checklist.loaded",
        "subject": {"type": "checklist", "id": "coal"},
        "change": {"v": 2},
    }
    expected = hashlib.sha256(("a" * 64 + canonical_json(old)).encode()).hexdigest()
    assert audit.entry_hash(entry) == expected
    entry.link = 6  # no longer what seq says: the link is covered
    assert audit.entry_hash(entry) != expected
