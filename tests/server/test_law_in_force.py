"""The law in force on the server: judged, served and cited in the scope of the site's city."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from pdfminer.high_level import extract_text

from checklists import load_sources
from server.models import Finding, Inspection
from server.services.sites_import import import_sites
from tests.helpers import PHOTO, approve, current_version, inspection_body, issue, new_id, sha256

SOURCES = load_sources()
SHUOZHOU_NUMBERS = {"朔政办发〔2020〕9号", "朔政发〔2024〕14号"}
OTHER_NUMBERS = {"并政发〔2018〕40号", "长政办发〔2020〕14号", "高政办发〔2020〕46号"}


def _submit(client, headers, site, checklist_id, answers, started=None):  # type: ignore[no-untyped-def]
    client.put(f"/api/v1/photos/{sha256(PHOTO)}", data=PHOTO, headers=headers["inspector"])
    version = current_version(client, headers["inspector"], checklist_id)
    body = inspection_body(site.id, checklist_id, version, answers, started)
    inspection_id = new_id()
    response = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
    )
    return inspection_id, response


def _fail(code: str) -> dict:
    return {"item": code, "value": "non_compliant", "note": "", "photos": [sha256(PHOTO)]}


def test_a_notice_to_a_shuozhou_site_cites_only_shuozhou_plans(  # type: ignore[no-untyped-def]
    client, headers, registry, clock
) -> None:
    site = registry["sites"]["SZ-construction"]
    answers = [_fail(code) for code in ("CD-03", "CD-04", "CD-07", "CD-13")]
    inspection_id, response = _submit(client, headers, site, "construction-dust", answers)
    assert response.status_code == 201, response.get_json()
    approve(client, headers, inspection_id)
    briefs = client.get(
        f"/api/v1/inspections/{inspection_id}", headers=headers["supervisor"]
    ).get_json()["findings"]
    assert len(briefs) == 4
    for brief in briefs:
        finding = client.get(
            f"/api/v1/findings/{brief['id']}", headers=headers["supervisor"]
        ).get_json()
        cited = {SOURCES[b["source"]].city for b in finding["basis"]}
        assert cited == {"朔州"}, finding["basis"]
    created = issue(client, headers, registry["shuozhou"].id, [b["id"] for b in briefs])
    assert created.status_code == 201, created.get_json()
    pdf = client.get(
        f"/api/v1/notices/{created.get_json()['id']}/pdf", headers=headers["supervisor"]
    )
    squeezed = "".join(extract_text(io.BytesIO(pdf.data)).split())
    assert any(number in squeezed for number in SHUOZHOU_NUMBERS)
    assert "依据文件" in squeezed
    for number in OTHER_NUMBERS:
        assert number not in squeezed, number
    ledger = client.get("/api/v1/ledger.xlsx", headers=headers["supervisor"])
    assert ledger.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(ledger.data)).worksheets[0]
    cells = " ".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    assert any(number in cells for number in SHUOZHOU_NUMBERS)
    for number in OTHER_NUMBERS:
        assert number not in cells, number


def test_an_encouraged_measure_never_becomes_a_finding(  # type: ignore[no-untyped-def]
    client, headers, registry, app
) -> None:
    site = registry["sites"]["SZ-industrial"]
    _, response = _submit(client, headers, site, "fugitive-emissions", [_fail("FE-10")])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [a["verdict"] for a in body["answers"]] == ["observation"]
    assert body["findings"] == []
    with app.app_context():
        from server.extensions import db

        assert db.session.query(Finding).count() == 0


def test_the_inspection_keeps_the_scope_it_was_judged_under(  # type: ignore[no-untyped-def]
    client, headers, registry, app
) -> None:
    site = registry["sites"]["SZ-construction"]
    started = datetime(2024, 3, 29, 2, 0, tzinfo=UTC)  # the day before 朔政发〔2024〕14号
    inspection_id, response = _submit(
        client, headers, site, "construction-dust", [_fail("CD-03")], started
    )
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        from server.extensions import db

        stored = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert stored is not None
        assert stored.scope == {
            "city_code": "140600",
            "on": "2024-03-29",
            "sources": ["000_32c90d3c411fd51f.txt"],
        }


def test_an_item_not_in_force_for_the_site_is_refused(  # type: ignore[no-untyped-def]
    client, headers, registry
) -> None:
    # CD-11 三不进 is 朔政发〔2024〕14号 only: not in force in 长治, nor in 朔州 before 2024-03-30.
    cd11 = {"item": "CD-11", "value": "compliant", "note": "", "photos": []}
    _, changzhi = _submit(
        client, headers, registry["sites"]["CZ-construction"], "construction-dust", [cd11]
    )
    assert changzhi.status_code == 422
    assert "not in force" in str(changzhi.get_json()["errors"])
    early = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
    _, before = _submit(
        client, headers, registry["sites"]["SZ-construction"], "construction-dust", [cd11], early
    )
    assert before.status_code == 422
    _, after = _submit(
        client, headers, registry["sites"]["SZ-construction"], "construction-dust", [cd11]
    )
    assert after.status_code == 201, after.get_json()


def test_site_checklists_lists_what_applies_today_or_on_a_date(  # type: ignore[no-untyped-def]
    client, headers, registry
) -> None:
    site = registry["sites"]["SZ-construction"]
    today = client.get(f"/api/v1/sites/{site.id}/checklists", headers=headers["inspector"])
    assert today.status_code == 200
    body = today.get_json()
    assert body["city_code"] == "140600"
    assert {g["number"] for g in body["governing"]} == SHUOZHOU_NUMBERS
    served = {checklist["id"]: checklist for checklist in body["checklists"]}
    assert set(served) == {"construction-dust", "heavy-pollution-response"}
    dust = served["construction-dust"]
    codes = {item["code"]: item for item in dust["items"]}
    assert "CD-11" in codes and "CD-09" not in codes
    assert codes["CD-10"]["obligation"] == "advisory" and codes["CD-10"]["conditional"]
    for item in dust["items"]:
        assert {SOURCES[b["source"]].city for b in item["bases"]} <= {"朔州"}
    earlier = client.get(
        f"/api/v1/sites/{site.id}/checklists?on=2024-01-01", headers=headers["inspector"]
    ).get_json()
    earlier_dust = next(c for c in earlier["checklists"] if c["id"] == "construction-dust")
    assert "CD-11" not in {item["code"] for item in earlier_dust["items"]}
    bad = client.get(
        f"/api/v1/sites/{site.id}/checklists?on=2024-13-01", headers=headers["inspector"]
    )
    assert bad.status_code == 422 and "on" in bad.get_json()["errors"]


def test_governance_is_served_for_devices(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/governance", headers=headers["inspector"])
    assert response.status_code == 200 and response.headers.get("ETag")
    cities = {city["code"]: city for city in response.get_json()["cities"]}
    assert set(cities) == {"140600", "140400", "140100", "140581"}
    assert cities["140581"]["plans"][0]["until"] == "2021-03-31"


HEADER = (
    "credit_code,enterprise_name,city,district,industry,contact_name,contact_phone,"
    "site_code,site_name,site_kind,address,lat,lon,radius_m,district_code\n"
)


@pytest.mark.parametrize("spelling", ["朔州", "朔州市", "Shuozhou", "140600"])
def test_registry_import_maps_city_names_to_the_code(app, spelling: str) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_credit_code

    code = make_credit_code("91140600MA0TE0099")
    row = f"{code},朔州某公司,{spelling},朔城区,煤炭,,,S-1,一号场,industrial,,,,,140602\n"
    report = import_sites((HEADER + row).encode())
    assert not report.errors, report.errors
    from server.extensions import db
    from server.models import Site

    site = db.session.query(Site).filter_by(code="S-1").one()
    assert site.city_code == "140600" and site.district_code == "140602"
    assert site.enterprise.city == "朔州" and site.enterprise.city_code == "140600"


def test_registry_import_refuses_an_unknown_city_and_a_district_outside_it(app) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_credit_code

    code = make_credit_code("91140600MA0TE0098")
    rows = (
        f"{code},某公司,大同,,煤炭,,,S-2,二号场,industrial,,,,,\n"
        f"{code},某公司,太原,,煤炭,,,S-3,三号场,industrial,,,,,140602\n"
    )
    report = import_sites((HEADER + rows).encode())
    messages = " ".join(message for _line, message in report.errors)
    assert "unknown city '大同'" in messages
    assert "is not inside city 140100" in messages


def test_each_boiler_is_judged_and_found_on_its_own(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    answers = [
        {"item": "CB-09", "value": "yes", "note": "", "photos": []},
        {"item": "CB-10", "value": 40, "note": "1号炉", "photos": []},
        {"item": "CB-10#2", "value": 20, "note": "2号炉", "photos": [sha256(PHOTO)]},
    ]
    inspection_id, response = _submit(client, headers, site, "coal-and-boilers", answers)
    assert response.status_code == 201, response.get_json()
    verdicts = {a["item"]: a["verdict"] for a in response.get_json()["answers"]}
    assert verdicts == {"CB-09": "compliant", "CB-10": "compliant", "CB-10#2": "non_compliant"}
    [brief] = client.get(
        f"/api/v1/inspections/{inspection_id}", headers=headers["supervisor"]
    ).get_json()["findings"]
    finding = client.get(f"/api/v1/findings/{brief['id']}", headers=headers["supervisor"])
    assert finding.status_code == 200
    body = finding.get_json()
    assert body["item"] == "CB-10#2" and body["answer"]["value"] == 20
    # The 35 t/h limit in force in 朔州 today is 朔政发〔2024〕14号's: that is what it cites.
    assert {b["source"] for b in body["basis"]} == {"002_57e86a6bcd0130fd.txt"}


@pytest.mark.parametrize("key", ["CB-05#2", "CB-10#1", "CB-10#0", "CB-10#x"])
def test_only_unit_items_repeat(client, headers, registry, key: str) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    answers = [
        {"item": "CB-09", "value": "yes", "note": "", "photos": []},
        {"item": key, "value": 40, "note": "", "photos": []},
    ]
    _, response = _submit(client, headers, site, "coal-and-boilers", answers)
    assert response.status_code == 422
    assert "unknown item" in str(response.get_json()["errors"])


def test_no_finding_rests_on_a_condition_nobody_checked(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    # FE-09 binds 朔州 only for the key industries 000 names: FE-00 must be answered first.
    site = registry["sites"]["SZ-industrial"]
    _, pending = _submit(client, headers, site, "fugitive-emissions", [_fail("FE-09")])
    assert pending.status_code == 422
    assert "FE-00" in str(pending.get_json()["errors"])
    other = {"item": "FE-00", "value": "other", "note": "", "photos": []}
    _, outside = _submit(client, headers, site, "fugitive-emissions", [other, _fail("FE-09")])
    assert outside.status_code == 201, outside.get_json()
    verdicts = {a["item"]: a["verdict"] for a in outside.get_json()["answers"]}
    # 002 (推动重点企业…) still encourages it for every plant: advice, no finding.
    assert verdicts["FE-09"] == "observation" and outside.get_json()["findings"] == []
