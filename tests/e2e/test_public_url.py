"""Without LANTIAN_PUBLIC_URL, notice links and QR codes point at the port that serves them."""

from __future__ import annotations

import io

import httpx
import pypdfium2
import zxingcpp
from PIL import Image

from tests.e2e.conftest import ServerProcess
from tests.helpers import PASSWORD, submit_failing_inspection


def _token(server: ServerProcess, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_links_follow_the_serving_port(  # type: ignore[no-untyped-def]
    client, headers, registry, clock, server_process: ServerProcess
) -> None:
    site = registry["sites"]["SZ-boiler_house"]
    inspection, findings = submit_failing_inspection(client, headers, site)
    review = client.post(
        f"/api/v1/inspections/{inspection}/review",
        json={"decision": "approve"},
        headers=headers["supervisor"],
    )
    assert review.status_code == 200
    ids = [finding["id"] for finding in findings.values()]
    server_process.env.pop("LANTIAN_PUBLIC_URL")
    assert not server_process.url.endswith(":5000")
    server_process.start()
    supervisor = _token(server_process, "sup")
    with httpx.Client(base_url=server_process.url, headers=supervisor, timeout=30) as http:
        made = http.post(
            "/api/v1/notices", json={"enterprise_id": registry["shuozhou"].id, "finding_ids": ids}
        )
        assert made.status_code == 201, made.text
        notice = made.json()
        assert notice["portal_url"].startswith(f"{server_process.url}/portal/notices/")
        pdf = http.get(f"/api/v1/notices/{notice['id']}/pdf")
        assert pdf.status_code == 200
        pages = pypdfium2.PdfDocument(pdf.content)
        codes = [
            code.text
            for index in range(len(pages))
            for code in zxingcpp.read_barcodes(pages[index].render(scale=3).to_pil())
        ]
        assert codes == [notice["portal_url"]]
        inspector = _token(server_process, "insp")
        label = http.get(f"/api/v1/sites/{site.id}/label.png", headers=inspector)
        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(label.content)))
        assert [code.text for code in decoded] == [f"{server_process.url}/s/{site.qr_token}"]
