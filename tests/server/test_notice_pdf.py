"""Every note the API accepts prints in the notice PDF, and every font in it is embedded."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from pdfminer.high_level import extract_text
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

from checklists.sources import squeeze
from tests.helpers import approve, failing_inspection_body, issue, new_id

MAX_NOTE = 2000  # the API's limit on an answer's note
NOTES = {
    "cjk": "煤场未苫盖扬尘严重" * (MAX_NOTE // 9) + "止",
    "newlines": "行\n" * (MAX_NOTE // 2),
    "latin-unbroken": "A" * (MAX_NOTE - 3) + "END",
    "mixed": ("锅炉房PM2.5超标,see photo IMG_0001.JPG;\n\n" * 60)[:MAX_NOTE],
    "only-newlines": "\n" * (MAX_NOTE - 1) + "尾",
}


def _notice_pdf(client: FlaskClient, headers, registry, note: str) -> bytes:  # type: ignore[no-untyped-def]
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    for answer in body["answers"]:
        if answer["item"] == "CB-18":
            answer["note"] = note
    inspection = new_id()
    put = client.put(f"/api/v1/inspections/{inspection}", json=body, headers=headers["inspector"])
    assert put.status_code == 201, put.get_json()
    approve(client, headers, inspection)
    found = client.get(f"/api/v1/inspections/{inspection}", headers=headers["supervisor"])
    ids = [f["id"] for f in found.get_json()["findings"]]
    notice = issue(client, headers, registry["shuozhou"].id, ids).get_json()
    for role in ("supervisor", "enterprise"):
        response = client.get(f"/api/v1/notices/{notice['id']}/pdf", headers=headers[role])
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.mimetype == "application/pdf"
    return response.data


@pytest.mark.parametrize("kind", list(NOTES))
def test_a_note_of_any_accepted_size_prints_whole(
    client: FlaskClient, headers, registry, clock, kind: str
) -> None:  # type: ignore[no-untyped-def]
    note = NOTES[kind]
    assert len(note) <= MAX_NOTE
    data = _notice_pdf(client, headers, registry, note)
    text = squeeze(extract_text(io.BytesIO(data)))
    assert squeeze(note) in text  # all of it, in order, across as many pages as it takes


def _fonts(data: bytes) -> dict[str, Any]:
    """Every font dictionary the pages use, by base font name."""
    document = PDFDocument(PDFParser(io.BytesIO(data)))
    fonts: dict[str, Any] = {}
    for page in PDFPage.create_pages(document):
        resources = resolve1(page.resources) or {}
        for font in (resolve1(resources.get("Font")) or {}).values():
            font = resolve1(font)
            fonts[str(resolve1(font["BaseFont"]))] = font
    return fonts


def _embedded(font: dict[str, Any]) -> bool:
    if "DescendantFonts" in font:  # Type0: the glyphs live in the descendant
        font = resolve1(resolve1(font["DescendantFonts"])[0])
    descriptor = resolve1(font.get("FontDescriptor")) or {}
    return any(key in descriptor for key in ("FontFile", "FontFile2", "FontFile3"))


def test_every_font_in_the_notice_is_embedded(
    client: FlaskClient, headers, registry, clock
) -> None:  # type: ignore[no-untyped-def]
    """The notice looks the same on every machine: no font is left to the reader's system."""
    data = _notice_pdf(client, headers, registry, "现场记录 note 123")
    fonts = _fonts(data)
    assert fonts
    assert {name: _embedded(font) for name, font in fonts.items()} == dict.fromkeys(fonts, True)
