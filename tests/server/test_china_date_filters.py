"""created_from / created_to name China calendar days, as every page shows them."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Finding
from tests.helpers import submit_failing_inspection
from tests.web.pages import sign_in

# 2026-11-21 00:30 and 23:59 in China: the UTC dates are the 20th and the 21st.
EARLY = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
LATE = datetime(2026, 11, 21, 15, 59, tzinfo=UTC)

# These tests set rows directly (times, registry names) to reach the cases they test.
pytestmark = pytest.mark.tampers_audit


@pytest.fixture
def two_findings(client: FlaskClient, headers, registry) -> list[int]:  # type: ignore[no-untyped-def]
    """Two findings made on 2026-11-21, China time, at half past midnight and 23:59."""
    submit_failing_inspection(client, headers, registry["sites"]["SZ-boiler_house"])
    rows = list(db.session.scalars(db.select(Finding).order_by(Finding.id)))
    assert len(rows) == 2
    rows[0].created_at, rows[1].created_at = EARLY, LATE
    db.session.commit()
    return [row.id for row in rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("created_from=2026-11-21&created_to=2026-11-21", [0, 1]),
        ("created_to=2026-11-20", []),
        ("created_from=2026-11-22", []),
        ("created_from=2026-11-21", [0, 1]),
        ("created_to=2026-11-21", [0, 1]),
        ("created_from=0001-01-01&created_to=9999-12-31", [0, 1]),
    ],
)
def test_api_filters_by_china_date(
    client: FlaskClient, headers, two_findings: list[int], query: str, expected: list[int]
) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/findings?{query}", headers=headers["supervisor"])
    assert response.status_code == 200, response.get_json()
    assert sorted(f["id"] for f in response.get_json()) == [two_findings[i] for i in expected]


def test_findings_page_and_ledger_filter_by_china_date(
    client: FlaskClient, two_findings: list[int], users
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    day = "created_from=2026-11-21&created_to=2026-11-21"
    page = client.get(f"/review/findings?{day}").text
    assert all(f'id="finding-{fid}"' in page for fid in two_findings), page
    before = client.get("/review/findings?created_to=2026-11-20").text
    assert not any(f'id="finding-{fid}"' in before for fid in two_findings)
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/review/ledger.xlsx?{day}").data))
    ids = [row[0].value for row in workbook.worksheets[0].iter_rows(min_row=2)]
    assert sorted(ids) == sorted(two_findings)
