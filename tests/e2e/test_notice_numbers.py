"""Twenty notices issued at once against the real server: numbers unique and gap-free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx

from checklists import load_all
from checklists.evaluate import served_items
from checklists.governance import load_governance
from checklists.scope import Scope
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.helpers import PHOTOS, current_version, inspection_body, new_id, sha256


def failing_inspection(client, headers, site_id: int, version: str) -> None:  # type: ignore[no-untyped-def]
    """A construction-dust inspection of a 朔州 site failing every check item in force there."""
    photo = sha256((PHOTOS / "no_exif.jpg").read_bytes())
    answers = [{"item": "CD-01", "value": 6000, "note": "", "photos": []}]
    scope = Scope.of(load_governance(), "朔州", date.today())
    for item in served_items(load_all()["construction-dust"], scope):
        if item.answer_type.value == "check":
            answers.append(
                {"item": item.code, "value": "non_compliant", "note": "", "photos": [photo]}
            )
    inspection_id = new_id()
    body = inspection_body(site_id, "construction-dust", version, answers)
    assert (
        client.put(
            f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/inspections/{inspection_id}/review",
            json={"decision": "approve"},
            headers=headers["supervisor"],
        ).status_code
        == 200
    )


def test_twenty_concurrent_notices_are_numbered_without_gaps(
    client,
    headers,
    registry,
    live_server: ServerProcess,  # type: ignore[no-untyped-def]
) -> None:
    version = current_version(client, headers["inspector"], "construction-dust")
    site = registry["sites"]["SZ-construction"].id
    failing_inspection(client, headers, site, version)
    failing_inspection(client, headers, site, version)
    open_findings = client.get(
        "/api/v1/findings?status=open&page_size=100", headers=headers["supervisor"]
    ).get_json()
    assert len(open_findings) >= 20
    supervisor = token(live_server, "sup")
    enterprise_id = registry["shuozhou"].id

    def issue(finding_id: int) -> httpx.Response:
        with httpx.Client(base_url=live_server.url, headers=supervisor, timeout=60) as http:
            return http.post(
                "/api/v1/notices",
                json={"enterprise_id": enterprise_id, "finding_ids": [finding_id]},
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(issue, [f["id"] for f in open_findings[:20]]))
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    numbers = sorted(r.json()["number"] for r in responses)
    year = numbers[0][4:8]
    assert numbers == [f"朔环整〔{year}〕{n:04d}号" for n in range(1, 21)]
