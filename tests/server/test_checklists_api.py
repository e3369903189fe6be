"""Checklists served to devices with ETags; old versions stay available."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from checklists import CHECKLISTS_DIR, load_all
from server import create_app
from server.extensions import db
from server.services import checklists as checklist_store


def test_list_has_every_checklist(client, headers) -> None:
    response = client.get("/api/v1/checklists", headers=headers["inspector"])
    assert response.status_code == 200
    listed = {c["id"]: c for c in response.get_json()}
    rules = load_all()
    assert set(listed) == set(rules)
    for checklist_id, summary in listed.items():
        assert summary["version"] == rules[checklist_id].version
        assert summary["item_count"] == len(rules[checklist_id].items)
        assert summary["title"]["zh"] and summary["title"]["en"]


def test_checklist_carries_items_with_basis_and_sources(client, headers) -> None:
    body = client.get(
        "/api/v1/checklists/construction-dust", headers=headers["inspector"]
    ).get_json()
    assert body["id"] == "construction-dust"
    item = body["items"][1]
    assert {
        "code",
        "text",
        "answer",
        "severity",
        "evidence",
        "remedy",
        "days_to_rectify",
        "basis",
    } <= set(item)
    assert item["basis"][0]["quote"] and item["basis"][0]["clause"]
    numbers = {source["number"] for source in body["sources"]}
    assert "并政发〔2018〕40号" in numbers


def test_etag_gives_304(client, headers) -> None:
    path = "/api/v1/checklists/coal-and-boilers"
    first = client.get(path, headers=headers["inspector"])
    etag = first.headers["ETag"]
    assert etag
    again = client.get(path, headers={**headers["inspector"], "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # RFC 9110 15.4.5: a 304 repeats the ETag a 200 would carry.
    assert again.headers["ETag"] == etag
    assert "Content-Type" not in again.headers
    # It stands for the JSON, so it carries the API's security policy, not the pages'.
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert again.headers["Content-Security-Policy"].startswith("default-src 'none'")
    stale = client.get(path, headers={**headers["inspector"], "If-None-Match": '"other"'})
    assert stale.status_code == 200
    listing = client.get("/api/v1/checklists", headers=headers["inspector"])
    unchanged = client.get(
        "/api/v1/checklists",
        headers={**headers["inspector"], "If-None-Match": listing.headers["ETag"]},
    )
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == listing.headers["ETag"]


def test_unknown_checklist_or_version_is_404(client, headers) -> None:
    assert client.get("/api/v1/checklists/nope", headers=headers["inspector"]).status_code == 404
    response = client.get(
        "/api/v1/checklists/coal-and-boilers?version=ffffffffffffffff", headers=headers["inspector"]
    )
    assert response.status_code == 404
    assert "no version" in response.get_json()["message"]


def _changed_rules(tmp_path: Path) -> Path:
    """A copy of the rule files where coal-and-boilers differs: loading it is a new version."""
    directory = tmp_path / "rules"
    shutil.copytree(CHECKLISTS_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = directory / "coal-and-boilers.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content["items"][0]["days_to_rectify"] += 5
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return directory


def test_a_changed_file_is_a_new_version_and_the_old_one_stays(
    client, headers, tmp_path: Path
) -> None:
    old = load_all()["coal-and-boilers"].version
    before = client.get("/api/v1/checklists/coal-and-boilers", headers=headers["inspector"])
    assert before.get_json()["version"] == old
    directory = _changed_rules(tmp_path)
    loaded = dict(
        (cid, (version, fresh))
        for cid, version, fresh in checklist_store.load_rule_files(directory)
    )
    new, fresh = loaded["coal-and-boilers"]
    assert fresh and new != old
    assert not loaded["construction-dust"][1]  # unchanged files are not new versions
    # Loaded by this process: served at once, though the old version was read just before.
    current = client.get("/api/v1/checklists/coal-and-boilers", headers=headers["inspector"])
    assert current.get_json()["version"] == new
    kept = client.get(
        f"/api/v1/checklists/coal-and-boilers?version={old}", headers=headers["inspector"]
    )
    assert kept.status_code == 200 and kept.get_json()["version"] == old


def _load_in_another_process(app, tmp_path: Path) -> str:
    """What `lantian-server checklists load` does in another process (another app, with its
    own cache): a new current version of coal-and-boilers, returned."""
    other = create_app(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "DATA_DIR": str(tmp_path / "other"),
            "SECRET_KEY": "other-process",
        }
    )
    with other.app_context():
        new = dict((c, v) for c, v, _ in checklist_store.load_rule_files(_changed_rules(tmp_path)))
        db.session.remove()
        db.engine.dispose()
    return new["coal-and-boilers"]


@pytest.mark.parametrize("seconds", [60, 0])
def test_a_version_loaded_by_another_process_is_served_once_the_cache_time_passes(
    app, client, headers, tmp_path: Path, monkeypatch, seconds: float
) -> None:
    """With a cache time, only once it has passed; with 0, on the very next refresh."""
    monkeypatch.setitem(app.config, "CHECKLIST_VERSION_CACHE_S", seconds)
    # A new cache is built from the setting; the app's own comes back afterwards.
    monkeypatch.setitem(app.extensions, checklist_store.VERSIONS_SEEN, None)
    path = "/api/v1/checklists/coal-and-boilers"
    first = client.get(path, headers=headers["inspector"])
    new = _load_in_another_process(app, tmp_path)
    assert new != first.get_json()["version"]
    conditional = {**headers["inspector"], "If-None-Match": first.headers["ETag"]}
    if seconds:
        # Within the cache time this process still trusts the version it read...
        assert client.get(path, headers=conditional).status_code == 304
        # ...and once that time has passed (the cache's own clock moved on), the new one.
        app.extensions[checklist_store.VERSIONS_SEEN].expire(time.monotonic() + seconds + 1)
    fresh = client.get(path, headers=conditional)
    assert fresh.status_code == 200
    assert fresh.get_json()["version"] == new


def test_served_content_hashes_to_its_version(client, headers) -> None:
    """Devices check this: what they receive is exactly the version they pin."""
    from checklists import content_version

    for checklist_id in load_all():
        body = client.get(f"/api/v1/checklists/{checklist_id}", headers=headers["inspector"])
        content = body.get_json()
        version = content.pop("version")
        content.pop("sources")
        assert content_version(content) == version, checklist_id


def test_every_served_checklist_hashes_to_its_version(client, headers) -> None:  # type: ignore[no-untyped-def]
    """What a device checks on pull: a schema that drops or reshapes a key breaks sync."""
    from checklists import content_version

    listing = client.get("/api/v1/checklists", headers=headers["inspector"]).get_json()
    assert listing
    for summary in listing:
        body = client.get(
            f"/api/v1/checklists/{summary['id']}", headers=headers["inspector"]
        ).get_json()
        version = body.pop("version")
        body.pop("sources")
        assert content_version(body) == version, summary["id"]
