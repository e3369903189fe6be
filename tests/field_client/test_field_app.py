"""The field app's screens and records with Flask's test client over a real local store.

The browser runs in tests/e2e/test_field_app.py; here each rule is checked on its own:
which checklists a site gets, nearest-first order, positions never invented, local flags,
bad input refused with nothing stored changed, photo removal, and the signed record.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import struct
import threading
import time
import uuid as uuid_module
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pillow_heif
import pytest
import qrcode
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

import checklists as rules
from checklists.governance import load_governance
from field_client import capture, record
from field_client.app import create_app, device, flags, screens
from field_client.errors import FieldError
from field_client.store import Store
from tests.field_client.test_capture_cli import CONSTRUCTION, SITE
from tests.helpers import NO_BOILER_ANSWERS, PHOTOS

TRUNCATED = (PHOTOS / "DSCN0010.jpg").read_bytes()[:9000]
FAR = {**SITE, "id": 9, "code": "SZ-B-02", "name": "远处锅炉房", "lat": 39.50, "qr_token": "far"}


@pytest.fixture
def field_home(tmp_path: Path) -> Path:
    store = Store(tmp_path)
    for checklist in rules.load_all().values():
        store.save_checklist({**checklist.content, "version": checklist.version}, '"etag"')
    store.save_sites([FAR, SITE, CONSTRUCTION], "3")
    store.save_governance(load_governance().to_dict(), '"g"')
    store.close()
    return tmp_path


@pytest.fixture
def client(field_home: Path) -> FlaskClient:
    return create_app(field_home).test_client()


def rows(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(home / "field.sqlite3")
    try:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("inspections", "answers", "photos", "answer_photos", "app_positions")
        }
    finally:
        db.close()


def start(client: FlaskClient, site_id: int, checklist: str, **position: str) -> str:
    form = {"checklist": checklist, **position}
    response = client.post(f"/sites/{site_id}/start", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_a_site_gets_the_checklists_of_its_kind(field_home: Path) -> None:
    store = Store(field_home)
    boiler_house = {c.id for c in screens.applicable_checklists(store, SITE)}
    assert {"coal-and-boilers", "fugitive-emissions"} <= boiler_house
    assert not {"construction-dust", "shutdown-verification"} & boiler_house
    construction = {c.id for c in screens.applicable_checklists(store, CONSTRUCTION)}
    assert "construction-dust" in construction and "coal-and-boilers" not in construction
    # 高平's only plan was a 2020–2021 campaign: no plan in force, no checklist today.
    gaoping = {**CONSTRUCTION, "city": "高平", "city_code": "140581"}
    assert screens.applicable_checklists(store, gaoping) == []


def test_sites_nearest_first_when_the_position_is_known(field_home: Path) -> None:
    store = Store(field_home)
    near = screens.sites_nearest_first(store, "", 39.50, 112.43)
    assert near[0]["code"] == "SZ-B-02"
    assert near[0]["distance_m"] == pytest.approx(0, abs=1)
    by_city = screens.sites_nearest_first(store, "", None, None)
    assert all(s["distance_m"] is None for s in by_city)
    assert [s["code"] for s in screens.sites_nearest_first(store, "远处", None, None)] == [
        "SZ-B-02"
    ]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"pos_status": "ok", "lat": "39.3", "lon": "112.4", "accuracy": "9"}, ("ok", 39.3)),
        ({"pos_status": "refused", "lat": "39.3", "lon": "112.4"}, ("refused", None)),
        ({"pos_status": "ok", "lat": "north", "lon": "112.4"}, ("unavailable", None)),
        ({"pos_status": "ok", "lat": "139.3", "lon": "112.4"}, ("unavailable", None)),
        ({"pos_status": "made-up"}, ("unavailable", None)),
        ({}, ("unavailable", None)),
    ],
)
def test_a_position_is_never_invented(form: dict[str, str], expected: tuple[Any, ...]) -> None:
    position = device.position_from_form(form)
    assert (position.status, position.lat) == expected
    assert (position.as_location() is not None) == (expected[0] == "ok")


def test_a_refused_position_is_recorded_and_flagged(client: FlaskClient, field_home: Path) -> None:
    uuid = start(client, 7, "coal-and-boilers", pos_status="refused")
    stored = rows(field_home)
    assert stored["inspections"][0][8:11] == (None, None, None)
    assert [r[1:3] for r in stored["app_positions"]] == [("inspection", "refused")]
    page = client.get(f"/inspections/{uuid}").get_data(as_text=True)
    assert 'id="position-refused"' in page and 'data-flag="no_location"' in page


def test_flags_outside_the_site_and_poor_accuracy(field_home: Path) -> None:
    store = Store(field_home)
    device.ensure_schema(store)
    uuid = capture.start(store, 7, "coal-and-boilers", (39.40, 112.43, 500.0))
    device.record(store, uuid, device.INSPECTION, device.Position("ok", 39.40, 112.43, 500.0))
    assert [f.code for f in flags.flags_for(store, uuid, device.positions(store, uuid))] == [
        "poor_accuracy",
        "outside_site",
    ]
    close = capture.start(store, 7, "coal-and-boilers", (39.3301, 112.43, 10.0))
    device.record(store, close, device.INSPECTION, device.Position("ok", 39.3301, 112.43, 10.0))
    assert flags.flags_for(store, close, device.positions(store, close)) == []


def test_bad_input_is_refused_on_the_page_and_changes_nothing(
    client: FlaskClient, field_home: Path, tmp_path: Path
) -> None:
    uuid = start(client, 7, "coal-and-boilers", pos_status="unavailable")
    assert (
        client.post(
            f"/inspections/{uuid}/answer", data={"item": "CB-18", "value": "non_compliant"}
        ).status_code
        == 303
    )
    before = rows(field_home)
    cases = [
        ("answer", {"item": "CB-10", "value": "twenty"}, "请输入数字"),
        ("answer", {"item": "CB-99", "value": "compliant"}, "无此项"),
        ("answer", {"item": "CB-18", "value": "maybe"}, "符合/不符合/不适用"),
        ("answer", {"item": "CB-12", "value": "", "note": "note only"}, "请先作答"),
        # what the server would refuse at every sync of the frozen inspection
        ("answer", {"item": "CB-18", "value": "non_compliant", "note": "长" * 2001}, "2000"),
        ("answer", {"item": "CB-18", "value": "non_compliant", "note": "a\x00b"}, "空字符"),
        (
            "photos",
            {"item": "CB-18", "photos": (io.BytesIO(b"not an image"), "a.jpg")},
            "不是可识别的图片",
        ),
        (
            "photos",
            {
                "item": "CB-18",
                "photos": (
                    io.BytesIO(PHOTOS.joinpath("DSCN0010.jpg").read_bytes()[:9000]),
                    "b.jpg",
                ),
            },
            "不是可识别的图片",
        ),
        ("photos", {"item": "CB-18"}, "没有选择照片"),
        ("photos/remove", {"item": "CB-18", "sha256": "0" * 64}, "没有这张照片"),
    ]
    for path, form, message in cases:
        response = client.post(f"/inspections/{uuid}/{path}", data=form)
        assert response.status_code == 422, (path, form)
        assert message in response.get_data(as_text=True), (path, form)
        assert rows(field_home) == before, (path, form)
    unknown = client.get("/sites/999")
    assert unknown.status_code == 404 and "本设备没有场所 999" in unknown.get_data(as_text=True)
    assert client.get("/inspections/not-an-inspection").status_code == 404


def test_photos_are_added_with_their_position_and_removed(
    client: FlaskClient, field_home: Path
) -> None:
    uuid = start(client, 7, "coal-and-boilers", pos_status="unavailable")
    client.post(f"/inspections/{uuid}/answer", data={"item": "CB-18", "value": "non_compliant"})
    sent = client.post(
        f"/inspections/{uuid}/photos",
        data={
            "item": "CB-18",
            "pos_status": "ok",
            "lat": "39.33",
            "lon": "112.43",
            "accuracy": "5",
            "photos": [
                (io.BytesIO((PHOTOS / "IMG_5195.HEIC").read_bytes()), "IMG_5195.HEIC"),
                (io.BytesIO((PHOTOS / "landscape_6.jpg").read_bytes()), "landscape_6.jpg"),
            ],
        },
    )
    assert sent.status_code == 303
    store = Store(field_home)
    shas = store.photos_of(uuid)["CB-18"]
    assert len(shas) == 2
    assert device.positions(store, uuid)[shas[0]] == device.Position("ok", 39.33, 112.43, 5.0)
    assert client.get(f"/photos/{shas[0]}.jpg").mimetype == "image/jpeg"
    removed = client.post(
        f"/inspections/{uuid}/photos/remove", data={"item": "CB-18", "sha256": shas[0]}
    )
    assert removed.status_code == 303
    assert store.photos_of(uuid)["CB-18"] == shas[1:]
    assert not list((field_home / "incoming").iterdir())  # uploads do not linger


def test_a_heic_photo_of_a_qr_label_opens_the_site(
    client: FlaskClient, field_home: Path, tmp_path: Path
) -> None:
    pillow_heif.register_heif_opener()
    label = qrcode.make("https://lantian.example/s/another-token", box_size=10).get_image()
    buffer = io.BytesIO()
    label.convert("RGB").save(buffer, format="HEIF", quality=90)
    response = client.post("/qr", data={"photo": (io.BytesIO(buffer.getvalue()), "l.heic")})
    assert response.status_code == 303 and response.headers["Location"].endswith("/sites/8")
    nothing = client.post(
        "/qr", data={"photo": (io.BytesIO((PHOTOS / "landscape_1.jpg").read_bytes()), "x.jpg")}
    )
    assert nothing.status_code == 422 and "没有二维码" in nothing.get_data(as_text=True)


def _blank_png(width: int, height: int) -> bytes:
    """A 1-bit PNG of the given size: a few kilobytes however large it claims to be."""
    row = b"\x00" * (1 + (width + 7) // 8)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("size", [(20000, 10000), (10000, 10000)])
def test_a_decompression_bomb_as_a_qr_photo_is_refused_on_the_page(
    client: FlaskClient, field_home: Path, size: tuple[int, int]
) -> None:
    """24 KB claiming 200 million pixels crashed the app (500); 100 million were decoded in
    full. Both are refused like any unreadable photo, nothing stored."""
    before = rows(field_home)
    bomb = _blank_png(*size)
    assert len(bomb) < 100_000
    response = client.post("/qr", data={"photo": (io.BytesIO(bomb), "label.png")})
    assert response.status_code == 422, response.status_code
    assert "过大" in response.get_data(as_text=True)
    assert rows(field_home) == before


def signature(ink: bool = True, hand: int = 0) -> bytes:
    """A drawn signature; each `hand` draws its own strokes."""
    image = Image.new("RGBA", (360, 150), (0, 0, 0, 0))
    if ink:
        ImageDraw.Draw(image).line([(10, 10 + hand), (300, 120)], fill=(0, 0, 0, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_record_keeps_real_signatures_and_travels_with_the_inspection(
    field_home: Path,
) -> None:
    store = Store(field_home)
    uuid = capture.start(store, 7, "coal-and-boilers")
    capture.answer(store, uuid, "CB-01", "outside")
    person = {"inspector": {"name": "insp"}, "representative": {"name": "王工"}}
    with pytest.raises(FieldError, match="签名为空"):
        record.save(store, uuid, person, {"representative": signature(False)})
    with pytest.raises(FieldError, match="PNG"):
        buffer = io.BytesIO()
        Image.new("RGB", (10, 10)).save(buffer, format="JPEG")
        record.save(store, uuid, person, {"representative": buffer.getvalue()})
    with pytest.raises(FieldError, match="见证人"):
        record.save(store, uuid, {**person, "refused": True}, {"inspector": signature()})
    with pytest.raises(FieldError, match="空字符"):  # the server would refuse it at every sync
        record.save(
            store,
            uuid,
            {**person, "representative": {"name": "王工", "phone": "139\x00"}},
            {"representative": signature(), "inspector": signature(hand=1)},
        )
    assert record.load(store, uuid) is None
    with pytest.raises(FieldError, match="各自签名"):  # one image signed twice
        record.save(store, uuid, person, {"representative": signature(), "inspector": signature()})
    saved = record.save(
        store, uuid, person, {"representative": signature(), "inspector": signature(hand=1)}
    )
    assert saved["representative_signature"] != saved["inspector_signatures"][0]
    sha = saved["representative_signature"]
    assert store.photo_path(sha).read_bytes() == signature()
    assert capture.wire_body(store, uuid)["record"] == saved
    plain = capture.start(store, 7, "coal-and-boilers")
    assert "record" not in capture.wire_body(store, plain)  # a CLI inspection has none


def test_a_record_cannot_change_once_the_inspection_is_frozen(field_home: Path) -> None:
    """The record is in the body a frozen inspection sends. Two taps on 签署 (or a sync
    freezing it) between the signer's state check and its write let a new record land on a
    queued inspection, so the body changed after it was frozen. The write now checks the
    state in its own transaction."""
    store = Store(field_home)
    uuid = capture.start(store, 7, "coal-and-boilers")
    person = {"inspector": {"name": "insp"}, "representative": {"name": "王工"}}
    record.ensure_schema(store)
    freezer = Store(field_home)
    opened, locked = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def sign() -> None:
        own = Store(field_home)  # opened (schema checks written) before the lock is taken
        opened.set()
        locked.wait(30)
        try:
            signs = {"representative": signature(), "inspector": signature(hand=1)}
            record.save(own, uuid, person, signs, signed_in="insp")
            outcome["saved"] = "yes"
        except FieldError as error:
            outcome["refused"] = str(error)
        finally:
            own.close()

    signer = threading.Thread(target=sign)
    signer.start()
    assert opened.wait(30)
    freezer.db.execute("BEGIN IMMEDIATE")  # the other tap's finish holds the write lock
    locked.set()
    time.sleep(1.0)  # the signer has read 'draft' and waits for the lock
    freezer.db.execute("UPDATE inspections SET state = 'queued' WHERE uuid = ?", (uuid,))
    freezer.db.execute("COMMIT")
    signer.join(30)
    assert "已完成" in outcome.get("refused", ""), outcome
    assert record.load(store, uuid) is None


def test_the_cli_attaches_the_same_record(field_home: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from field_client.cli import main

    store = Store(field_home)
    uuid = capture.start(store, 7, "coal-and-boilers")
    (tmp_path / "rep.png").write_bytes(signature())
    (tmp_path / "me.png").write_bytes(signature(hand=1))
    blank_png = tmp_path / "blank.png"
    blank_png.write_bytes(signature(False))
    base = ["--home", str(field_home), "--json", "record", uuid[:8], "--inspector", "insp"]
    refused = CliRunner().invoke(
        main, [*base, "--refused", "--signature", f"inspector={tmp_path / 'me.png'}"]
    )
    assert refused.exit_code == 1 and "见证人" in refused.output
    blank = CliRunner().invoke(
        main,
        [
            *base,
            "--representative",
            "王工",
            "--signature",
            f"representative={tmp_path / 'blank.png'}",
        ],
    )
    assert blank.exit_code == 1 and "签名为空" in blank.output
    assert record.load(store, uuid) is None
    done = CliRunner().invoke(
        main,
        [
            *base,
            "--badge",
            "14060001",
            "--representative",
            "王工",
            "--signature",
            f"representative={tmp_path / 'rep.png'}",
            "--signature",
            f"inspector={tmp_path / 'me.png'}",
        ],
    )
    assert done.exit_code == 0, done.output
    assert capture.wire_body(store, uuid)["record"]["inspectors"] == [
        {"name": "insp", "badge": "14060001"}
    ]


def test_the_record_offers_the_users_this_device_knows(
    client: FlaskClient, field_home: Path
) -> None:
    store = Store(field_home)
    store.set_meta("app_known_users", '{"insp": "14060001", "insp2": "14060002"}')
    uuid = capture.start(store, 7, "coal-and-boilers")
    for code, value in (*NO_BOILER_ANSWERS, ("CB-18", "compliant")):
        capture.answer(store, uuid, code, value)
    page = client.get(f"/inspections/{uuid}/record")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    assert 'value="insp2" data-badge="14060002"' in text


def test_other_sites_in_the_browser_cannot_change_anything(
    client: FlaskClient, field_home: Path
) -> None:
    before = rows(field_home)
    foreign = client.post(
        "/sites/7/start",
        data={"checklist": "coal-and-boilers"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and rows(field_home) == before
    rebound = client.get("/", headers={"Host": "evil.example:8470"})
    assert rebound.status_code == 403
    own = client.post(
        "/sites/7/start",
        data={"checklist": "coal-and-boilers"},
        headers={"Origin": "http://localhost"},
    )
    assert own.status_code == 303


COLLEAGUES = [
    {"username": "insp", "display_name": "张检查", "role": "inspector", "badge_no": "14060026001"},
    {"username": "insp2", "display_name": "李检查", "role": "inspector", "badge_no": "14060026002"},
    {"username": "newbie", "display_name": "王新", "role": "inspector", "badge_no": None},
]


def test_the_record_names_accounts_with_the_badges_on_file(field_home: Path) -> None:
    store = Store(field_home)
    store.set_meta("colleagues", json.dumps(COLLEAGUES, ensure_ascii=False))
    uuid = capture.start(store, 7, "coal-and-boilers")
    capture.answer(store, uuid, "CB-01", "outside")
    images = {"representative": signature(), "inspector": signature(hand=1)}
    fields = {
        # a badge typed wrong is replaced by the account's; the second is picked by name
        "inspector": {"name": "", "badge": "999"},
        "inspector2": {"name": "李检查", "badge": ""},
        "representative": {"name": "王工"},
    }
    saved = record.save(store, uuid, fields, images, signed_in="insp")
    assert saved["inspectors"] == [
        {"username": "insp", "name": "张检查", "badge": "14060026001"},
        {"username": "insp2", "name": "李检查", "badge": "14060026002"},
    ]
    # Someone the device does not know is refused here, before the server would refuse it.
    other = capture.start(store, 7, "coal-and-boilers")
    fields["inspector2"] = {"name": "外借人员", "badge": "X-1"}
    with pytest.raises(FieldError, match="不是本设备已知的执法人员"):
        record.save(store, other, fields, images, signed_in="insp")
    assert record.load(store, other) is None
    # The same person cannot be both inspectors.
    third = capture.start(store, 7, "coal-and-boilers")
    fields["inspector2"] = {"name": "张检查"}
    with pytest.raises(FieldError, match="同一人"):
        record.save(store, third, fields, images, signed_in="insp")
    assert record.load(store, third) is None


def test_the_device_positions_travel_with_the_inspection(
    client: FlaskClient, field_home: Path
) -> None:
    uuid = start(client, 7, "coal-and-boilers", pos_status="refused")
    client.post(f"/inspections/{uuid}/answer", data={"item": "CB-18", "value": "non_compliant"})
    client.post(
        f"/inspections/{uuid}/photos",
        data={
            "item": "CB-18",
            "pos_status": "ok",
            "lat": "39.33",
            "lon": "112.43",
            "accuracy": "nan",  # a broken accuracy is unknown, not a number to refuse
            "photos": [(io.BytesIO((PHOTOS / "landscape_6.jpg").read_bytes()), "a.jpg")],
        },
    )
    store = Store(field_home)
    sha = store.photos_of(uuid)["CB-18"][0]
    body = capture.wire_body(store, uuid)
    assert body["positions"] == {
        "inspection": {"status": "refused", "lat": None, "lon": None, "accuracy_m": None},
        "photos": {sha: {"status": "ok", "lat": 39.33, "lon": 112.43, "accuracy_m": None}},
    }
    plain = capture.start(store, 7, "coal-and-boilers")
    assert "positions" not in capture.wire_body(store, plain)  # the CLI records none


def test_no_position_is_added_to_a_frozen_inspection(field_home: Path) -> None:
    """A photo's position was written in its own transaction after the photo, unchecked: a
    finish in between (another tab) and the frozen body gained a `positions` entry."""
    store = Store(field_home)
    uuid = capture.start(store, 7, "coal-and-boilers")
    capture.answer(store, uuid, "CB-18", "non_compliant")
    (sha,) = capture.attach_photos(store, uuid, "CB-18", [PHOTOS / "landscape_6.jpg"])
    with store.transaction() as db:  # frozen, as a finish from another tab leaves it
        db.execute("UPDATE inspections SET state = 'queued' WHERE uuid = ?", (uuid,))
    frozen = capture.wire_body(store, uuid)
    with pytest.raises(FieldError, match="不能修改"):
        device.record(store, uuid, sha, device.Position("ok", 39.33, 112.43, 5.0))
    assert capture.wire_body(store, uuid) == frozen


def test_a_site_shows_the_unresolved_findings_pulled_from_the_server(
    client: FlaskClient, field_home: Path
) -> None:
    store = Store(field_home)
    pulled = [
        {
            "id": 41,
            "site_id": 7,
            "inspection_uuid": "6a1b0c52-0000-4000-8000-000000000001",
            "inspected_at": "2026-10-02T02:00:00+00:00",
            "checklist_id": "coal-and-boilers",
            "item": "CB-18",
            "severity": "major",
            "status": "reopened",
            "due_date": "2026-10-20",
        },
    ]
    pulled.append({**pulled[0], "id": 42, "site_id": 9, "item": "CB-10"})  # another site's
    store.set_meta("findings_to_recheck", json.dumps(pulled))
    page = client.get("/sites/7").get_data(as_text=True)
    section = page[page.index('id="earlier-failures"') :]
    assert "CB-18" in section and "整改未通过" in section and "2026-10-20" in section
    assert "CB-10" not in section
    # Found by another inspector: the server's list is all the device needs to show it.
    assert "no open findings" not in section


@pytest.mark.parametrize("path", ["/", "/sync", "/login", "/no-such-page", "/sync/progress"])
def test_no_other_site_can_frame_the_app(client: FlaskClient, path: str) -> None:
    """A page the inspector visits could overlay the app in an invisible frame and have
    their taps sync, remove photos or sign (the Origin check passes: the framed page's own
    forms post from the app's origin). Every response forbids framing and embedding."""
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


RACE_ROUNDS = int(os.environ.get("LANTIAN_RACE_ROUNDS", "20"))


def test_a_double_tap_on_start_makes_one_draft(field_home: Path) -> None:
    """Eight taps of one start form at once, over a real threaded server: one draft, and
    every tap is sent to it; a form shown again after that draft was finished (the back
    button) starts a new one."""
    server = make_server("127.0.0.1", 0, create_app(field_home), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            page = http.get("/sites/7").text
            assert 'name="draft"' in page
            for _ in range(RACE_ROUNDS):
                draft = str(uuid_module.uuid4())
                form = {"checklist": "coal-and-boilers", "draft": draft, "pos_status": "refused"}
                barrier = threading.Barrier(8)

                def tap(form: dict[str, str] = form, barrier: threading.Barrier = barrier) -> str:
                    barrier.wait()
                    response = http.post("/sites/7/start", data=form)
                    assert response.status_code == 303, response.text
                    return response.headers["Location"].rsplit("/", 1)[-1]

                with ThreadPoolExecutor(8) as pool:
                    opened = set(pool.map(lambda _: tap(), range(8)))
                assert opened == {draft}
                stored = rows(field_home)
                assert [r[0] for r in stored["inspections"]].count(draft) == 1
                assert [r[0] for r in stored["app_positions"]].count(draft) == 1
            inspections = len(rows(field_home)["inspections"])
            assert inspections == RACE_ROUNDS
            # The same form again once its draft is no longer a draft: a new inspection.
            store = Store(field_home)
            store.db.execute("UPDATE inspections SET state = 'queued' WHERE uuid = ?", (draft,))
            store.db.commit()
            store.close()
            again = http.post("/sites/7/start", data=form)
            assert again.status_code == 303
            assert again.headers["Location"].rsplit("/", 1)[-1] != draft
            # A malformed or missing id: a new draft each time, as before.
            assert len(rows(field_home)["inspections"]) == inspections + 1
            for odd in ("not-a-uuid", ""):
                made = http.post(
                    "/sites/7/start", data={"checklist": "coal-and-boilers", "draft": odd}
                )
                assert made.status_code == 303
            assert len(rows(field_home)["inspections"]) == inspections + 3
    finally:
        server.shutdown()
