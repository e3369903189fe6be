"""The rectification loop through the API: review → notice → answer → reopen → answer → close."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import FIX, PHOTO, TODAY, approve, issue, sha256


def test_findings_carry_the_plans_words(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    finding = approved["findings"]["CB-10"]
    assert finding["status"] == "open" and finding["city"] == "朔州"
    assert finding["basis"] and all(b["quote"] for b in finding["basis"])
    assert finding["remedy"]["zh"] and finding["item_text"]["en"]
    assert finding["answer"]["value"] == 20


def test_the_full_loop(client, headers, approved, clock) -> None:  # type: ignore[no-untyped-def]
    ids = [approved["findings"]["CB-10"]["id"], approved["findings"]["CB-18"]["id"]]
    refused = issue(client, headers, approved["enterprise_id"], ids)
    assert refused.status_code == 422  # the inspection is not approved yet
    assert "not approved" in str(refused.get_json()["errors"])
    approve(client, headers, approved["inspection"])

    created = issue(client, headers, approved["enterprise_id"], ids)
    assert created.status_code == 201, created.get_json()
    notice = created.get_json()
    assert notice["number"] == "朔环整〔2026〕0001号"
    assert notice["enterprise"]["name"] == "朔州测试煤业有限公司"
    assert notice["portal_url"].endswith(
        "/portal/notices/" + notice["portal_url"].rsplit("/", 1)[1]
    )
    due = {f["item"]: f["due_date"] for f in notice["findings"]}
    assert due["CB-10"] == (TODAY + timedelta(days=30)).isoformat()  # the item's days to rectify
    again = issue(client, headers, approved["enterprise_id"], ids)
    assert again.status_code == 422 and "already notified" in str(again.get_json()["errors"])

    # The enterprise sees its notice and findings, and the inspector's photo of them.
    assert (
        client.get(f"/api/v1/notices/{notice['id']}", headers=headers["enterprise"]).status_code
        == 200
    )
    mine = client.get("/api/v1/findings", headers=headers["enterprise"]).get_json()
    assert sorted(f["id"] for f in mine) == sorted(ids)
    assert (
        client.get(f"/api/v1/photos/{sha256(PHOTO)}", headers=headers["enterprise"]).status_code
        == 200
    )

    finding_id = ids[0]
    path = f"/api/v1/findings/{finding_id}"
    assert (
        client.post(
            f"{path}/verify", json={"accepted": True}, headers=headers["supervisor"]
        ).status_code
        == 409
    )  # nothing answered yet
    assert (
        client.put(
            f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=headers["enterprise"]
        ).status_code
        == 201
    )
    first = client.post(
        f"{path}/responses",
        json={"text": "已停用该锅炉", "photos": [sha256(FIX)]},
        headers=headers["enterprise"],
    )
    assert first.status_code == 201 and first.get_json()["status"] == "answered"
    reopened = client.post(
        f"{path}/verify",
        json={"accepted": False, "comment": "照片看不到铭牌"},
        headers=headers["supervisor"],
    )
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "reopened"
    second = client.post(
        f"{path}/responses",
        json={"text": "补拍铭牌与拆除现场", "photos": [sha256(FIX)]},
        headers=headers["enterprise"],
    )
    assert second.status_code == 201
    closed = client.post(
        f"{path}/verify",
        json={"accepted": True, "comment": "同意销号"},
        headers=headers["supervisor"],
    )
    assert closed.status_code == 200
    record = closed.get_json()
    assert record["status"] == "closed" and record["closed_at"]
    assert [(e["from_status"], e["to_status"]) for e in record["events"]] == [
        ("open", "notified"),
        ("notified", "answered"),
        ("answered", "reopened"),
        ("reopened", "answered"),
        ("answered", "closed"),
    ]
    assert record["events"][2]["reason"] == "照片看不到铭牌"
    assert len(record["responses"]) == 2

    # Overdue with a controlled clock: the other finding (CB-18) is past due, the closed one not.
    clock["CLOCK_TODAY"] = (TODAY + timedelta(days=40)).isoformat()
    late = client.get("/api/v1/findings?overdue=true", headers=headers["supervisor"]).get_json()
    assert [f["id"] for f in late] == [ids[1]] and late[0]["overdue"] is True
    on_time = client.get(f"/api/v1/findings/{ids[0]}", headers=headers["supervisor"]).get_json()
    assert on_time["overdue"] is False


def test_numbers_count_per_city_and_year(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    approve(client, headers, approved["inspection"])
    first = issue(client, headers, approved["enterprise_id"], [approved["findings"]["CB-10"]["id"]])
    second = issue(
        client, headers, approved["enterprise_id"], [approved["findings"]["CB-18"]["id"]]
    )
    assert [first.get_json()["number"], second.get_json()["number"]] == [
        "朔环整〔2026〕0001号",
        "朔环整〔2026〕0002号",
    ]


def test_enterprises_see_only_their_own(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    approve(client, headers, approved["inspection"])
    ids = [f["id"] for f in approved["findings"].values()]
    notice = issue(client, headers, approved["enterprise_id"], ids).get_json()
    other = headers["enterprise2"]
    assert client.get(f"/api/v1/notices/{notice['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/findings/{ids[0]}", headers=other).status_code == 404
    assert client.get("/api/v1/findings", headers=other).get_json() == []
    token = notice["portal_url"].rsplit("/", 1)[1]
    assert client.get(f"/api/v1/notices/by-token/{token}", headers=other).status_code == 404
    assert client.get(f"/api/v1/photos/{sha256(PHOTO)}", headers=other).status_code == 404
    assert (
        client.post(
            f"/api/v1/findings/{ids[0]}/responses", json={"text": "x"}, headers=other
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/notices", json={"enterprise_id": 1, "finding_ids": ids}, headers=other
        ).status_code
        == 403
    )


def test_open_findings_are_not_shown_to_the_enterprise(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/findings", headers=headers["enterprise"]).get_json() == []


def test_findings_filters_and_pages(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    supervisor = headers["supervisor"]
    assert len(client.get("/api/v1/findings?city=朔州", headers=supervisor).get_json()) == 2
    assert client.get("/api/v1/findings?city=长治", headers=supervisor).get_json() == []
    assert (
        len(
            client.get(
                "/api/v1/findings?checklist=coal-and-boilers&severity=major", headers=supervisor
            ).get_json()
        )
        == 2
    )
    page = client.get("/api/v1/findings?page=2&page_size=1", headers=supervisor)
    assert len(page.get_json()) == 1 and '"total": 2' in page.headers["X-Pagination"]
    dated = client.get(
        "/api/v1/findings?created_from=2000-01-01&created_to=2000-12-31", headers=supervisor
    ).get_json()
    assert dated == []
    assert client.get("/api/v1/findings?severity=huge", headers=supervisor).status_code == 422


def test_notice_pdf_has_the_words_and_a_qr_code_to_the_portal(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    import io

    import pypdfium2
    import zxingcpp
    from pdfminer.high_level import extract_text

    from checklists.sources import squeeze

    approve(client, headers, approved["inspection"])
    ids = [f["id"] for f in approved["findings"].values()]
    notice = issue(client, headers, approved["enterprise_id"], ids).get_json()
    response = client.get(f"/api/v1/notices/{notice['id']}/pdf", headers=headers["enterprise"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = squeeze(extract_text(io.BytesIO(response.data)))
    assert "朔州测试煤业有限公司" in text
    assert squeeze(notice["number"]) in text
    for finding in notice["findings"]:
        assert squeeze(finding["basis"][0]["quote"]) in text
        assert squeeze(finding["remedy"]["zh"])[:20] in text
    assert "朔政发〔2024〕14号" in text  # the document number the 35 t/h limit rests on
    pages = pypdfium2.PdfDocument(response.data)
    codes = [
        code.text
        for index in range(len(pages))
        for code in zxingcpp.read_barcodes(pages[index].render(scale=3).to_pil())
    ]
    assert notice["portal_url"] in codes
    other = client.get(f"/api/v1/notices/{notice['id']}/pdf", headers=headers["enterprise2"])
    assert other.status_code == 404


def test_ledger_rows_match_the_findings_api(client, headers, approved, clock) -> None:  # type: ignore[no-untyped-def]
    import io
    from datetime import date as date_type

    from openpyxl import load_workbook

    approve(client, headers, approved["inspection"])
    ids = [approved["findings"]["CB-10"]["id"]]
    notice = issue(client, headers, approved["enterprise_id"], ids).get_json()
    response = client.get("/api/v1/ledger.xlsx?city=朔州", headers=headers["supervisor"])
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["问题台账 Findings", "整改通知 Notices", "检查记录 Inspections"]
    sheet = workbook["问题台账 Findings"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    header = [cell.value for cell in sheet[1]]
    rows = [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)
    ]
    api = client.get("/api/v1/findings?city=朔州", headers=headers["supervisor"]).get_json()
    assert [(r["编号 id"], r["项 item"], r["状态 status"]) for r in rows] == [
        (f["id"], f["item"], f["status"]) for f in api
    ]
    notified = next(r for r in rows if r["编号 id"] == ids[0])
    assert notified["通知书 notice"] == notice["number"]
    assert isinstance(notified["整改期限 due"], date_type)  # a real date, not text
    assert "朔政发〔2024〕14号" in notified["依据 basis"]
    notices_sheet = workbook["整改通知 Notices"]
    assert notices_sheet["A2"].value == notice["number"]
    assert workbook["检查记录 Inspections"]["A2"].value == approved["inspection"]
    assert client.get("/api/v1/ledger.xlsx", headers=headers["enterprise"]).status_code == 403
    assert client.get("/api/v1/ledger.xlsx", headers=headers["inspector"]).status_code == 403
