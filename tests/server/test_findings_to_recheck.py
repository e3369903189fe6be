"""The unresolved findings a device pulls, so a re-inspection checks them again."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from server.extensions import db
from server.models import Finding
from server.services import accounts
from tests.helpers import PASSWORD, approve, login, submit_failing_inspection

URL = "/api/v1/findings/to-recheck"


def test_every_unresolved_finding_of_the_city_whoever_found_it(
    client: FlaskClient, headers: dict[str, Any], registry: dict[str, Any]
) -> None:
    site = registry["sites"]["SZ-boiler_house"]
    inspection_id, found = submit_failing_inspection(client, headers, site)
    approve(client, headers, inspection_id)
    # insp2 did not make the inspection, and still gets its findings to check again.
    listed = client.get(URL, headers=headers["inspector2"])
    assert listed.status_code == 200
    rows = listed.get_json()
    assert {row["item"] for row in rows} == set(found)
    assert {row["site_id"] for row in rows} == {site.id}
    assert {row["status"] for row in rows} == {"open"}
    assert all(row["inspection_uuid"] == inspection_id for row in rows)
    assert "answer" not in rows[0] and "responses" not in rows[0]  # no notes, no answers
    # Unchanged: 304 for the device's ETag; a closed finding leaves the list.
    etag = listed.headers["ETag"]
    assert (
        client.get(URL, headers={**headers["inspector2"], "If-None-Match": etag}).status_code == 304
    )
    finding = db.session.get(Finding, found["CB-10"]["id"])
    finding.status = "closed"
    db.session.commit()
    after = client.get(URL, headers={**headers["inspector2"], "If-None-Match": etag})
    assert after.status_code == 200
    assert {row["item"] for row in after.get_json()} == set(found) - {"CB-10"}
    finding.status = "open"  # as it was, for the audit check after the test
    db.session.commit()


def test_another_citys_inspector_and_enterprises_get_none(
    client: FlaskClient, headers: dict[str, Any], registry: dict[str, Any]
) -> None:
    submit_failing_inspection(client, headers, registry["sites"]["SZ-boiler_house"])
    accounts.add_user("insp-cz", "inspector", PASSWORD, city="长治")
    accounts.add_user("insp-sz", "inspector", PASSWORD, city=registry["shuozhou"].city)
    db.session.commit()
    assert client.get(URL, headers=login(client, "insp-cz")).get_json() == []
    assert len(client.get(URL, headers=login(client, "insp-sz")).get_json()) == 2
    assert client.get(URL, headers=headers["enterprise"]).status_code == 403
    assert client.get(URL).status_code == 401
