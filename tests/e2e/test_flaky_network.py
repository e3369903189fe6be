"""Fifty syncs through a connection that is cut after a random number of bytes."""

from __future__ import annotations

from pathlib import Path

from server.extensions import db
from server.models import Inspection, InspectionRevision
from tests.e2e.conftest import Field, ServerProcess
from tests.e2e.cutting_proxy import CuttingProxy
from tests.e2e.field_helpers import camera_photo, login
from tests.e2e.test_field_sync import assert_server_has
from tests.helpers import NO_BOILER_ANSWERS

SYNCS = 50


def capture(field: Field, site_id: int, folder: Path, seed: int) -> str:
    """A small complete inspection with one failed item and its photo."""
    uuid = field.json("new", "--site", str(site_id), "--checklist", "coal-and-boilers")["id"]
    for item, value in NO_BOILER_ANSWERS:
        field.run("answer", uuid, item, value)
    photo = camera_photo(folder / f"p{seed}.jpg", 10_000 + seed, size=(1800, 1350))
    field.run("answer", uuid, "CB-18", "non_compliant", "--photo", str(photo))
    field.run("finish", uuid)
    return uuid


def test_every_inspection_arrives_once_through_a_cutting_proxy(
    server_process: ServerProcess, field: Field, users, registry, tmp_path: Path
) -> None:
    server_process.start()
    login(field, server_process.url)
    field.run("pull")
    site = registry["sites"]["SZ-boiler_house"].id
    # The real command code, in this process: fifty new interpreters would only add time.
    local = field.in_process()
    uuids: list[str] = []
    outcomes = []
    with CuttingProxy(server_process.port, low=2_000, high=400_000, seed=7) as proxy:
        credentials = field.home / "credentials.json"
        credentials.write_text(credentials.read_text().replace(server_process.url, proxy.url))
        for round_number in range(SYNCS):
            uuids.append(capture(local, site, tmp_path, round_number))
            outcomes.append(local.run("--json", "sync", expect=None).returncode)
        # Whatever a cut left behind goes in the next syncs.
        for _ in range(20):
            if local.run("--json", "sync", expect=None).returncode == 0:
                break
        assert proxy.cuts > 20, "the proxy must actually break connections"
    assert len(outcomes) == SYNCS
    assert_server_has(server_process, field, uuids)
    db.session.expire_all()
    assert db.session.query(Inspection).count() == SYNCS
    assert db.session.query(InspectionRevision).count() == SYNCS
