"""An orange alert from declaration to ledger, with the real server and the real field client:
a supervisor declares it for 朔州, the inspector's device pulls it, inspects a plant with a
reduction list and meters a line the list stops drawing power; the finding, the notice and
the ledger cite the plant's own measure and the plan's clause."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from openpyxl import load_workbook
from pdfminer.high_level import extract_text

from tests.e2e.conftest import Field, ServerProcess
from tests.e2e.field_helpers import camera_photo, login
from tests.helpers import PASSWORD

KILN_LINE = {
    "name": "1号熟料线",
    "normal_load_kw": 420,
    "measures": {
        "yellow": {"action": "limit", "limit_percent": 70, "text": "限产30%"},
        "orange": {"action": "stop", "text": "熟料线停产，窑炉保温"},
        "red": {"action": "stop", "text": "熟料线停产，窑炉保温"},
    },
}
MEASURE = "一厂一策（橙色预警）：1号熟料线 停产——熟料线停产，窑炉保温"
CLAUSE = "三、（五）21"


def _squeeze(text: str) -> str:
    return "".join(text.split())


def test_orange_alert_stopped_line_drawing_power_reaches_notice_and_ledger(  # type: ignore[no-untyped-def]
    server_process: ServerProcess, field: Field, users, registry, tmp_path: Path
) -> None:
    server_process.start()
    supervisor = httpx.Client(base_url=server_process.url, timeout=30)
    token = supervisor.post(
        "/api/v1/auth/token", json={"username": "sup", "password": PASSWORD}
    ).json()["token"]
    supervisor.headers["Authorization"] = f"Bearer {token}"
    plant = registry["sites"]["SZ-industrial"]
    listed = supervisor.put(
        f"/api/v1/enterprises/{registry['shuozhou'].id}/reduction-list",
        json={"performance_grade": "C", "lines": [KILN_LINE]},
    )
    assert listed.status_code == 200, listed.text
    now = datetime.now(UTC)
    declared = supervisor.post(
        "/api/v1/alerts",
        json={
            "level": "orange",
            "cities": ["朔州"],
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=48)).isoformat(),
            "reason": "市重污染天气应急指挥部发布橙色预警",
        },
    )
    assert declared.status_code == 201, declared.text

    login(field, server_process.url)
    pulled = field.json("pull")
    assert pulled["alerts_in_force"] == 1
    sites = field.json("sites")
    assert sites[0]["id"] == plant.id  # the plant with a list comes first during the alert
    assert sites[0]["alert_level"] == "orange"
    assert sites[0]["checklist"] == "heavy-pollution-response"
    assert all("alert_level" not in site for site in sites[1:])

    started = field.json("new", "--site", str(plant.id), "--checklist", "heavy-pollution-response")
    uuid = started["id"]
    assert started["prefilled"]["HP-00"] == "orange"
    assert started["prefilled"]["HP-11"] == "stop"
    meter = camera_photo(tmp_path / "meter.jpg", 1)
    line = camera_photo(tmp_path / "line.jpg", 2)
    reading = field.json("answer", uuid, "HP-13", "310", "--photo", str(meter))
    assert "停产线仍在用电" in reading["warning"]  # the device flags it at once, offline
    field.run("answer", uuid, "HP-12", "non_compliant", "--photo", str(line))
    flagged = field.json("answer", uuid, "HP-15", "non_compliant", "--photo", str(meter))
    assert flagged["verdict"] == "non_compliant"
    field.run("finish", uuid)
    assert field.json("sync")["synced"] == [uuid]

    inspection = supervisor.get(f"/api/v1/inspections/{uuid}").json()
    findings = {f["item"]: f for f in inspection["findings"]}
    assert set(findings) == {"HP-12", "HP-15"}
    assert (
        supervisor.post(
            f"/api/v1/inspections/{uuid}/review", json={"decision": "approve"}
        ).status_code
        == 200
    )
    detail = supervisor.get(f"/api/v1/findings/{findings['HP-15']['id']}").json()
    assert MEASURE in detail["answer"]["note"]
    assert any(b["clause"] == CLAUSE and b["source"].startswith("000_") for b in detail["basis"])
    notice = supervisor.post(
        "/api/v1/notices",
        json={"enterprise_id": registry["shuozhou"].id, "finding_ids": [detail["id"]]},
    )
    assert notice.status_code == 201, notice.text
    pdf = supervisor.get(f"/api/v1/notices/{notice.json()['id']}/pdf")
    text = _squeeze(extract_text(io.BytesIO(pdf.content)))
    assert _squeeze(MEASURE) in text and CLAUSE in text and "朔政办发〔2020〕9号" in text

    ledger = supervisor.get("/api/v1/ledger.xlsx")
    sheet = load_workbook(io.BytesIO(ledger.content))["问题台账 Findings"]
    header = [cell.value for cell in sheet[1]]
    rows = [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)
    ]
    row = next(r for r in rows if r["编号 id"] == detail["id"])
    assert MEASURE in row["现场记录 note"]
    assert "朔政办发〔2020〕9号 三、（五）21" in row["依据 basis"]
    assert row["通知书 notice"] == notice.json()["number"]
    supervisor.close()
