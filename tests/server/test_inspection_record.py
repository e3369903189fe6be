"""The signed on-site record (现场检查笔录): its wire shape, its signatures, and its PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pypdfium2
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from pdfminer.high_level import extract_text
from PIL import Image, ImageDraw

from server.extensions import db
from server.models import InspectionRevision
from tests.helpers import failing_inspection_body, new_id, sha256, submit_failing_inspection


def signature_png(seed: int) -> bytes:
    """A drawn signature: dark strokes on a transparent canvas, as the app's canvas gives."""
    image = Image.new("RGBA", (360, 150), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(20, 75), (120, 30 + seed), (220, 120), (330, 60)], fill=(0, 0, 0, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def signed_record(representative: bytes, inspector: bytes, **changes: Any) -> dict[str, Any]:
    record = {
        "inspectors": [{"username": "insp", "name": "insp", "badge": "14060001"}],
        "representative": {"name": "王工", "position": "安全员", "phone": "13900000001"},
        "representative_signature": sha256(representative),
        "refused": False,
        "witness": None,
        "witness_signature": None,
        "inspector_signatures": [sha256(inspector)],
        "signed_at": datetime(2026, 11, 20, 2, 45, tzinfo=UTC).isoformat(),
    }
    return {**record, **changes}


def pdf_text_and_qr(data: bytes) -> tuple[str, list[str]]:
    codes = []
    for page in pypdfium2.PdfDocument(data):
        codes += [c.text for c in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
    return extract_text(io.BytesIO(data)), codes


def test_a_cli_inspection_has_a_record_that_says_it_is_unsigned(
    app: Flask, client: FlaskClient, headers: dict[str, Any], registry: dict[str, Any]
) -> None:
    inspection_id, _ = submit_failing_inspection(
        client, headers, registry["sites"]["SZ-boiler_house"]
    )
    response = client.get(
        f"/api/v1/inspections/{inspection_id}/record.pdf", headers=headers["supervisor"]
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text, codes = pdf_text_and_qr(response.data)
    assert "现场检查笔录" in text and "无现场签名" in text
    assert "CB-10" in text and "CB-18" in text
    # The basis is the law in force at the site: 朔州's plans, never another city's.
    flat = "".join(text.split())
    assert "朔政" in flat and "依据文件" in flat
    for elsewhere in ("并政发", "长政办发", "高政办发"):
        assert elsewhere not in flat, elsewhere
    # With no LANTIAN_PUBLIC_URL the link is the address the request came to.
    assert codes == [f"http://localhost/review/inspections/{inspection_id}"]
    assert b"/FontFile2" in response.data  # the Chinese font travels inside the file


def test_signatures_are_cited_like_photos_until_they_arrive(
    client: FlaskClient, headers: dict[str, Any], registry: dict[str, Any]
) -> None:
    representative, inspector = signature_png(1), signature_png(2)
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["record"] = signed_record(representative, inspector)
    inspection_id = new_id()
    url = f"/api/v1/inspections/{inspection_id}"
    first = client.put(url, json=body, headers=headers["inspector"])
    assert first.status_code == 201, first.get_json()
    assert set(first.get_json()["missing_photos"]) == {sha256(representative), sha256(inspector)}
    for data in (representative, inspector):
        sent = client.put(f"/api/v1/photos/{sha256(data)}", data=data, headers=headers["inspector"])
        assert sent.status_code in (200, 201), sent.get_json()
    again = client.put(url, json=body, headers=headers["inspector"])
    assert again.status_code == 200 and again.get_json()["missing_photos"] == []
    assert db.session.query(InspectionRevision).count() == 1  # the resend changed nothing
    pdf = client.get(f"{url}/record.pdf", headers=headers["supervisor"])
    text, _ = pdf_text_and_qr(pdf.data)
    assert "王工" in text and "安全员" in text and "14060001" in text
    assert "无现场签名" not in text and "拒绝签字" not in text


def test_a_refusal_without_a_witness_is_refused_and_nothing_is_stored(
    client: FlaskClient, headers: dict[str, Any], registry: dict[str, Any]
) -> None:
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["record"] = signed_record(
        signature_png(1), signature_png(2), refused=True, representative_signature=None
    )
    inspection_id = new_id()
    response = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
    )
    assert response.status_code == 422, response.get_json()
    answer = response.get_json()
    assert answer["code"] == 422 and "witness" in str(answer["errors"])
    missing = client.get(f"/api/v1/inspections/{inspection_id}", headers=headers["inspector"])
    assert missing.status_code == 404


def test_a_record_without_an_inspector_signature_is_refused(
    client: FlaskClient, headers: dict[str, Any], registry: dict[str, Any]
) -> None:
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["record"] = signed_record(signature_png(1), signature_png(2), inspector_signatures=[])
    response = client.put(
        f"/api/v1/inspections/{new_id()}", json=body, headers=headers["inspector"]
    )
    assert response.status_code == 422, response.get_json()
    assert "inspector_signatures" in str(response.get_json()["errors"])
