"""The inspector's field app (`lantian-field app`) in Chromium on a phone-sized screen.

A full construction-dust inspection with three failures and six photos (HEIC and rotated
ones among them) is made while the central server is down; the browser is closed and the app
killed mid-inspection and started again; once the server is back, the sync button sends it,
and the server then holds exactly that inspection and its photos. The taps it takes are
counted and printed. The same app with the position refused, and bad input refused with
nothing stored changed. Screenshots of every screen go to test-artifacts/field-app/.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pillow_heif
import qrcode
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from server.extensions import db
from server.models import AnswerPhoto, Finding, Inspection, Photo
from server.services import accounts, audit
from server.storage import LocalPhotoStore
from tests.e2e.browser import ARTIFACTS, Screenshots, chromium
from tests.e2e.conftest import Field, ServerProcess
from tests.e2e.field_app import AppProcess, Taps, pdf_text_and_qr, phone, phone_screen, sign
from tests.e2e.field_helpers import sha256_file
from tests.helpers import PASSWORD, PHOTOS

BADGE = "14060026001"

CHECKLIST = "construction-dust"
FAILED = ("CD-03", "CD-08", "CD-12")
PHOTOS_OF = {  # six photos from ../shared/photos (copied to tests/data): GPS, HEIC, rotated
    "CD-03": [PHOTOS / "DSCN0010.jpg"],
    "CD-07": [PHOTOS / "landscape_8.jpg"],
    "CD-08": [PHOTOS / "IMG_5195.HEIC"],
    "CD-11": [PHOTOS / "portrait_5.jpg"],
    "CD-12": [PHOTOS / "landscape_6.jpg", PHOTOS / "landscape_3.jpg"],
}
# A 朔州 site: CD-01 ≥ 5000 m² brings in CD-10 (video; 朔政发〔2024〕14号 encourages it there).
NUMBERS = {"CD-01": "6000"}
UNANSWERED = "article.item:has(.verdict[data-verdict=unanswered])"
REPRESENTATIVE = {
    "representative_name": "李工",
    "representative_position": "项目经理",
    "representative_phone": "13900000002",
}


def qr_label(path: Path, url: str) -> Path:
    """A phone's HEIC photo of a site's QR label (what `labels` prints)."""
    pillow_heif.register_heif_opener()
    image = qrcode.make(url, box_size=10).get_image().convert("RGB")
    image.save(path, format="HEIF", quality=90)
    return path


def log_in_and_pull(page: Page, taps: Taps, server_url: str, shots: Screenshots) -> None:
    taps.tap(page.locator("#login-link"))
    page.fill("input[name=server]", server_url)
    page.fill("input[name=username]", "insp")
    page.fill("input[name=password]", PASSWORD)
    shots.take(page, "login")
    taps.tap(page.locator("#login-form button[type=submit]"))
    expect(page.locator("#account")).to_contain_text("insp")
    taps.tap(page.locator("#pull"))
    expect(page.locator(".flash")).to_contain_text("场所 sites 8")


def answer_item(page: Page, taps: Taps, code: str) -> None:
    """Answer one item as a standard inspection does, photos included."""
    card = page.locator(f"#item-{code}")
    if code in NUMBERS:
        taps.tap(card.locator("input[name=value]"))
        card.locator("input[name=value]").fill(NUMBERS[code])
        taps.tap(card.locator("button.save"))
        expect(page.locator(f"#item-{code} .verdict")).not_to_have_attribute(
            "data-verdict", "unanswered"
        )
        return
    value = "non_compliant" if code in FAILED else "compliant"
    taps.tap(card.locator(f"button[data-value={value}]"))
    expect(page.locator(f"#item-{code} .verdict")).to_have_attribute("data-verdict", value)
    if code in PHOTOS_OF:
        for photo in PHOTOS_OF[code]:
            before = page.locator(f"#item-{code} .thumb").count()
            taps.photos(page, code, [photo])
            expect(page.locator(f"#item-{code} .thumb")).to_have_count(before + 1, timeout=30_000)


def item_codes(page: Page) -> list[str]:
    return page.locator("article.item").evaluate_all("cards => cards.map(c => c.dataset.code)")


def test_offline_inspection_killed_and_synced_in_chromium(
    app: Flask,
    client: FlaskClient,
    headers: dict[str, Any],
    registry: dict[str, Any],
    server_process: ServerProcess,
    field: Field,
    engine_name: str,
    tmp_path: Path,
) -> None:
    site = registry["sites"]["SZ-construction"]
    for other in registry["sites"].values():
        if other is not site:  # about 7.8 km north: the site on the spot comes first
            other.lat = 39.40
            audit.record_registry(other)  # moved as the registry would move it: audited
            db.session.flush()
    accounts.set_badge("insp", BADGE)  # the 执法证号 on file, which the record must carry
    db.session.commit()
    shots = Screenshots(ARTIFACTS / "field-app" / engine_name)
    server_process.start()
    field_app = AppProcess(field, tmp_path / "app.log")
    field_app.start()
    taps = Taps()
    try:
        with chromium() as browser:
            context = phone(browser)
            page = context.new_page()
            page.goto(field_app.url)
            expect(page.locator("#account")).to_contain_text("尚未登录")
            shots.take(page, "start-not-logged-in")
            log_in_and_pull(page, taps, server_process.url, shots)
            expect(page.locator("#position-state")).to_contain_text("按距离排序")
            expect(page.locator("#sites a").first).to_contain_text(site.name)
            expect(page.locator("#sites .distance").first).to_have_text("0 m")
            expect(page.locator("#sites .distance").last).to_contain_text("km")
            shots.take(page, "start-sites-nearest-first")
            phone_screen(page, shots.folder, "start", "#find-site")

            server_process.stop()  # the rest happens with no server at all
            setup_taps, taps.count = taps.count, 0

            label = qr_label(tmp_path / "label.heic", f"{server_process.url}/s/{site.qr_token}")
            taps.count += 1  # the scan button: one photo of the label
            page.set_input_files("#qr-input", str(label))
            expect(page.locator("h1")).to_have_text(site.name)
            shots.take(page, "site")
            taps.tap(page.locator(f"button[data-checklist={CHECKLIST}]"))
            expect(page.locator("#progress-count")).to_contain_text("0 / ")
            # Items whose condition waits on an answer say so until it is given.
            expect(page.locator("#item-CD-10")).to_contain_text("取决于 CD-01")
            shots.take(page, "inspection-new")
            uuid = page.url.rsplit("/", 1)[-1]

            answer_item(page, taps, "CD-01")
            expect(page.locator("#item-CD-10")).not_to_contain_text("取决于")
            page.locator("#item-CD-03 details.basis summary").tap()
            expect(page.locator("#item-CD-03 details.basis blockquote").first).to_be_visible()
            for code in ("CD-02", "CD-03", "CD-04", "CD-05", "CD-06", "CD-07", "CD-08"):
                answer_item(page, taps, code)
            shots.take(page, "inspection-half")
            phone_screen(page, shots.folder, "answer", "#item-CD-03")
            page.locator("#item-CD-08 details.basis summary").tap()
            phone_screen(page, shots.folder, "basis", "#item-CD-08")

            # The browser closes and the app is killed mid-inspection; nothing is lost.
            context.close()
            field_app.kill()
            field_app.start()
            context = phone(browser)
            page = context.new_page()
            page.goto(field_app.url)
            page.locator(f"#my-inspections a[href$='{uuid}']").tap()  # not a standard tap
            expect(page.locator("#progress-count")).to_contain_text("8 / ")
            expect(page.locator("#item-CD-08 .thumb")).to_have_count(1)
            while unanswered := page.locator(UNANSWERED):
                if unanswered.count() == 0:
                    break
                answer_item(page, taps, unanswered.first.get_attribute("data-code") or "")
            # Only items a plan governing 朔州 today says: 太原's CD-09 is not asked here.
            assert "CD-09" not in item_codes(page) and "CD-10" in item_codes(page)
            expect(page.locator("#missing")).to_contain_text("全部完成")
            expect(page.locator("#flags")).to_contain_text("照片")
            shots.take(page, "inspection-complete")
            taps.tap(page.locator("#finish"))
            expect(page.locator("#record-findings")).to_contain_text("CD-12")
            shots.take(page, "record")
            for field_name, value in REPRESENTATIVE.items():
                taps.tap(page.locator(f"input[name={field_name}]"))
                page.locator(f"input[name={field_name}]").fill(value)
            # The badge comes from the account (pulled with the colleagues), not typed.
            expect(page.locator(".badge-on-file")).to_contain_text(BADGE)
            for signer in ("representative", "inspector"):
                taps.count += 1  # one stroke sequence each
                sign(page, signer)
            shots.take(page, "record-signed")
            phone_screen(page, shots.folder, "signatures", "#representative-sign")
            taps.tap(page.locator("#sign-finish"))
            expect(page.locator("#waiting-inspections")).to_have_text("1")
            shots.take(page, "sync-waiting-server-down")

            page.locator("#sync-button").tap()  # the server is still down (not counted)
            expect(page.locator("#sync-result .error")).to_be_visible(timeout=60_000)
            expect(page.locator("#waiting-inspections")).to_have_text("1")
            shots.take(page, "sync-failed-offline")

            server_process.start()
            taps.tap(page.locator("#sync-button"))
            expect(page.locator("#sync-result")).to_contain_text("同步完成", timeout=60_000)
            expect(page.locator("#waiting-inspections")).to_have_text("0")
            shots.take(page, "sync-done")
            standard = taps.count

            # The supervisor returns it; the next sync shows the comment and opens it again.
            response = client.post(
                f"/api/v1/inspections/{uuid}/review",
                json={"decision": "return", "comment": "CD-12 照片不清晰，请补拍"},
                headers=headers["supervisor"],
            )
            assert response.status_code == 200, response.get_json()
            page.locator("#sync-button").tap()
            expect(page.locator("#returned")).to_contain_text("CD-12 照片不清晰")
            shots.take(page, "sync-returned")
            page.locator(f"#returned a[href$='{uuid}']").tap()
            expect(page.locator("#review-comment")).to_contain_text("请补拍")
            expect(page.locator("#item-CD-12 .camera")).to_be_visible()
            shots.take(page, "inspection-returned")

            # Revised on the device, signed again and sent as the second revision.
            page.locator("#item-CD-12 button[data-value=compliant]").tap()
            expect(page.locator("#item-CD-12 .verdict")).to_have_attribute(
                "data-verdict", "compliant"
            )
            page.locator("#finish").tap()
            for field_name, value in REPRESENTATIVE.items():
                page.locator(f"input[name={field_name}]").fill(value)
            expect(page.locator("input[name=inspector_badge]")).to_have_value(BADGE)
            sign(page, "representative")
            sign(page, "inspector")
            page.locator("#sign-finish").tap()
            page.locator("#sync-button").tap()
            expect(page.locator("#sync-result")).to_contain_text("同步完成", timeout=60_000)
            context.close()
    finally:
        field_app.stop()

    print(
        f"\nTAPS: login and pull {setup_taps}; standard inspection (QR scan to synced, "
        f"16 applicable items, 3 failures, 6 photos; digits typed not counted) {standard}"
    )

    # The server holds exactly that inspection (revised once), its findings and photos.
    db.session.expire_all()
    assert [str(row.uuid) for row in db.session.query(Inspection)] == [uuid]
    assert db.session.query(Inspection).one().revision == 2
    open_findings = [f.item_code for f in db.session.query(Finding) if f.status != "withdrawn"]
    assert sorted(open_findings) == ["CD-03", "CD-08"], open_findings
    cited = {link.photo_sha256 for link in db.session.query(AnswerPhoto)}
    local = sqlite3.connect(field.home / "field.sqlite3")
    mine = {row[0] for row in local.execute("SELECT sha256 FROM answer_photos")}
    assert cited == mine and len(cited) == 6
    store = LocalPhotoStore(
        Path(
            server_process.env.get("LANTIAN_PHOTO_DIR")
            or Path(server_process.env["LANTIAN_DATA_DIR"]) / "photos"
        )
    )
    for sha in cited:
        assert sha256_file(field.home / "photos" / sha[:2] / f"{sha}.jpg") == sha
        assert store.exists(sha)
    record = db.session.query(Inspection).one().record
    assert record is not None
    signatures = [record["representative_signature"], *record["inspector_signatures"]]
    held = {photo.sha256: photo.content_type for photo in db.session.query(Photo)}
    assert cited | set(signatures) <= set(held)
    # Anything else is a signature of the first revision's record: a PNG, never a photo.
    assert {held[sha] for sha in set(held) - cited - set(signatures)} <= {"image/png"}
    position = local.execute(
        "SELECT status, lat, lon, accuracy_m FROM app_positions WHERE subject = 'inspection'"
    ).fetchone()
    assert position == ("ok", 39.33, 112.43, 12.0)
    inspection = db.session.query(Inspection).one()
    assert (inspection.lat, inspection.lon) == (39.33, 112.43)
    assert record["inspectors"][0]["username"] == "insp"
    assert record["inspectors"][0]["badge"] == BADGE
    # Each photo's device position reached the server with it.
    device_positions = inspection.device_positions
    assert device_positions is not None
    assert device_positions["inspection"]["status"] == "ok"
    assert set(device_positions["photos"]) == cited
    assert {p["status"] for p in device_positions["photos"].values()} == {"ok"}

    # The signatures arrived like photos, and the record PDF shows them with a QR code.
    assert record["refused"] is False and record["representative"]["name"] == "李工"
    assert len(signatures) == 2
    for sha in signatures:
        assert sha256_file(field.home / "photos" / sha[:2] / f"{sha}.jpg") == sha
        assert store.exists(sha)
    response = httpx.get(
        f"{server_process.url}/api/v1/inspections/{uuid}/record.pdf",
        headers=headers["supervisor"],
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text, codes = pdf_text_and_qr(response.content)
    for words in ("现场检查笔录", site.name, "李工", "项目经理", BADGE, "CD-03", "CD-08"):
        assert words in text, words
    assert "CD-12" not in text  # passed in the revision: no longer a finding of the record
    assert "无现场签名" not in text
    assert codes == [f"{server_process.url}/review/inspections/{uuid}"]
    (ARTIFACTS / "field-app" / engine_name / "record.pdf").write_bytes(response.content)


def stored(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the store keeps about answers and photos, to see that nothing changed."""
    local = sqlite3.connect(home / "field.sqlite3")
    try:
        return {
            table: sorted(local.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("inspections", "answers", "photos", "answer_photos", "app_positions")
        }
    finally:
        local.close()


def test_position_refused_bad_input_and_refusal_to_sign_in_chromium(
    ready: int,
    registry: dict[str, Any],
    headers: dict[str, Any],
    server_process: ServerProcess,
    field: Field,
    engine_name: str,
    tmp_path: Path,
) -> None:
    site = registry["sites"]["SZ-construction"]
    shots = Screenshots(ARTIFACTS / "field-app-refused" / engine_name)
    field_app = AppProcess(field, tmp_path / "app.log")
    field_app.start()
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("这不是照片 / not a photo", encoding="utf-8")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes((PHOTOS / "DSCN0010.jpg").read_bytes()[:20_000])
    try:
        with chromium() as browser:
            context = phone(browser, located=False)
            page = context.new_page()
            page.goto(field_app.url)
            expect(page.locator("#position-state")).to_contain_text("位置权限被拒绝")
            shots.take(page, "start-position-refused")

            # A photo with no QR code in it, and a site the device does not know.
            page.set_input_files("#qr-input", str(PHOTOS / "landscape_1.jpg"))
            expect(page.locator("#error")).to_contain_text("没有二维码")
            shots.take(page, "qr-not-found")
            response = page.goto(f"{field_app.url}/sites/9999")
            assert response is not None and response.status == 404
            expect(page.locator("#error")).to_contain_text("本设备没有场所 9999")
            shots.take(page, "unknown-site")

            page.goto(field_app.url)
            page.fill("input[name=q]", site.code)
            page.locator("#search-form button").tap()
            expect(page.locator("#sites a")).to_have_count(1)
            expect(page.locator("#sites a")).to_contain_text(site.name)
            page.locator("#sites a").tap()
            page.locator(f"button[data-checklist={CHECKLIST}]").tap()
            expect(page.locator("#position-refused")).to_be_visible()
            expect(page.locator("#flags [data-flag=no_location]")).to_contain_text("拒绝")
            uuid = page.url.rsplit("/", 1)[-1]
            page.locator("#item-CD-03 button[data-value=non_compliant]").tap()
            expect(page.locator("#item-CD-03 .missing-reason")).to_contain_text("缺少照片")
            before = stored(field.home)

            # Bad input: refused with a message on the page, nothing stored changed.
            page.locator("#item-CD-01 input[name=value]").fill("六千")
            page.locator("#item-CD-01 button.save").tap()
            expect(page.locator("#error")).to_contain_text("请输入数字")
            shots.take(page, "bad-number")
            assert stored(field.home) == before
            for bad in (not_an_image, corrupt):
                page.set_input_files("#item-CD-03 .camera input", str(bad))
                expect(page.locator("#error")).to_contain_text("不是可识别的图片")
                assert stored(field.home) == before
            shots.take(page, "bad-photo")

            # Photos chosen from the gallery, one removed again.
            page.set_input_files(
                "#item-CD-03 .gallery input",
                [str(PHOTOS / "portrait_1.jpg"), str(PHOTOS / "no_exif.jpg")],
            )
            expect(page.locator("#item-CD-03 .thumb")).to_have_count(2, timeout=30_000)
            page.locator("#item-CD-03 .thumb").last.locator("button.remove").tap()
            expect(page.locator("#item-CD-03 .thumb")).to_have_count(1)
            expect(page.locator("#item-CD-03 .missing-reason")).to_have_count(0)
            shots.take(page, "photo-removed")

            # Everything else does not apply; the representative refuses to sign.
            page.locator("#item-CD-01 input[name=value]").fill("不适用")
            page.locator("#item-CD-01 button.save").tap()
            expect(page.locator("#item-CD-01 .verdict")).to_have_attribute(
                "data-verdict", "not_applicable"
            )
            while (left := page.locator(UNANSWERED)).count():
                code = left.first.get_attribute("data-code")
                left.first.locator("button[data-value=not_applicable]").tap()
                expect(page.locator(f"#item-{code} .verdict")).to_have_attribute(
                    "data-verdict", "not_applicable"
                )
            page.locator("#finish").tap()
            page.locator("input[name=representative_name]").fill("王某")
            page.locator("#refused").check()
            expect(page.locator("#witness")).to_be_visible()
            sign(page, "inspector")
            page.locator("#sign-finish").tap()  # no witness yet: refused, nothing kept
            expect(page.locator("#error")).to_contain_text("拒签须有见证人")
            assert stored(field.home)["inspections"][0][4] == "draft"
            page.locator("#refused").check()
            page.locator("input[name=witness_name]").fill("张村主任")
            sign(page, "witness")
            sign(page, "inspector")
            shots.take(page, "record-refused-with-witness")
            page.locator("#sign-finish").tap()
            expect(page.locator("#waiting-inspections")).to_have_text("1")
            server_process.start()
            page.locator("#sync-button").tap()
            expect(page.locator("#sync-result")).to_contain_text("同步完成", timeout=60_000)
            context.close()
    finally:
        field_app.stop()

    response = httpx.get(
        f"{server_process.url}/api/v1/inspections/{uuid}/record.pdf",
        headers=headers["supervisor"],
    )
    assert response.status_code == 200
    text, codes = pdf_text_and_qr(response.content)
    for words in ("拒绝签字", "张村主任", "王某", "定位"):
        if words == "定位":
            assert words not in text  # the position was refused: none is printed
        else:
            assert words in text, words
    assert codes == [f"{server_process.url}/review/inspections/{uuid}"]

    db.session.expire_all()
    held = db.session.query(Inspection).one().device_positions
    assert held is not None and held["inspection"]["status"] == "refused"
    assert [p["status"] for p in held["photos"].values()] == ["refused"]  # the one kept photo

    after = stored(field.home)
    inspection = after["inspections"][0]
    assert inspection[0] == uuid and inspection[4] == "synced"
    assert inspection[8:11] == (None, None, None)  # lat, lon, accuracy: never invented
    positions = {row[1]: row[2:6] for row in after["app_positions"]}
    assert positions.pop("inspection") == ("refused", None, None, None)
    assert list(positions.values()) == [("refused", None, None, None)] * 2  # both photos
    assert len(after["answer_photos"]) == 1
