"""The field client's capture commands against its real local store (no server needed).

Checklists and sites are put in the store the way `pull` does, from the same rule files
and registry shape the server serves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import qrcode
from click.testing import CliRunner, Result

import checklists as rules
from checklists.governance import load_governance
from field_client.cli import main
from field_client.store import Store
from tests.helpers import NO_BOILER_ANSWERS, PHOTOS

SITE = {
    "id": 7,
    "code": "SZ-B-01",
    "name": "朔州热力锅炉房",
    "kind": "boiler_house",
    "enterprise_id": 3,
    "enterprise_name": "朔州市蓝天热力有限公司",
    "credit_code": "91140602MA0000003X",
    "city": "朔州",
    "district": "朔城区",
    "address": "蓝天路4号",
    "lat": 39.33,
    "lon": 112.43,
    "radius_m": 300.0,
    "qr_token": "token-of-the-label",
    "active": True,
    "updated_at": "2026-11-01T00:00:00Z",
}
CONSTRUCTION = {
    **SITE,
    "id": 8,
    "code": "CZ-C-01",
    "name": "长治住宅项目工地",
    "kind": "construction",
    "city": "长治",
    "district": "潞州区",
    "qr_token": "another-token",
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data directory holding the current checklists and two sites, as after `pull`."""
    store = Store(tmp_path)
    for checklist in rules.load_all().values():
        store.save_checklist({**checklist.content, "version": checklist.version}, '"etag"')
    store.save_sites([SITE, CONSTRUCTION], "2")
    store.save_governance(load_governance().to_dict(), '"g"')
    store.close()
    return tmp_path


def run(
    home: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input, env=env)


def ok_json(home: Path, *args: str) -> Any:
    result = run(home, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def new(home: Path, site: int = 7, checklist: str = "coal-and-boilers") -> str:
    return ok_json(home, "new", "--site", str(site), "--checklist", checklist)["id"]


def test_new_pins_the_checklist_version(home: Path) -> None:
    uuid = new(home)
    shown = ok_json(home, "show", uuid)
    assert shown["state"] == "draft"
    assert shown["checklist_version"] == rules.load_all()["coal-and-boilers"].version


def test_new_refuses_a_checklist_for_another_kind_of_site(home: Path) -> None:
    result = run(home, "new", "--site", "8", "--checklist", "coal-and-boilers")
    assert result.exit_code == 1 and "does not apply" in result.output


def test_unknown_site_or_checklist_is_a_clear_error(home: Path) -> None:
    assert (
        "run `lantian-field pull`"
        in run(home, "new", "--site", "99", "--checklist", "coal-and-boilers").output
    )
    result = run(home, "--json", "new", "--site", "7", "--checklist", "nope")
    assert result.exit_code == 1 and "nope" in json.loads(result.output)["error"]


def test_answers_are_judged_on_the_spot_by_the_city_limit(home: Path) -> None:
    uuid = new(home)
    ok_json(home, "answer", uuid, "CB-09", "yes")
    assert ok_json(home, "answer", uuid, "CB-10", "20")["verdict"] == "non_compliant"
    assert ok_json(home, "answer", uuid, "CB-10", "40")["verdict"] == "compliant"
    assert ok_json(home, "answer", uuid[:8], "CB-04", "是")["verdict"] == "compliant"
    assert ok_json(home, "answer", uuid, "CB-05", "17.5")["verdict"] == "non_compliant"
    assert ok_json(home, "answer", uuid, "CB-18", "不符合")["missing"] == [
        "缺少照片证据 / photo evidence required"
    ]


def test_bad_answers_are_refused(home: Path) -> None:
    uuid = new(home)
    for item, value, words in (
        ("CB-10", "twenty", "number"),
        ("CB-01", "maybe", "allowed"),
        ("CB-18", "perhaps", "compliant"),
        ("CB-99", "yes", "no item"),
    ):
        result = run(home, "answer", uuid, item, value)
        assert result.exit_code == 1 and words in result.output, result.output
    assert all(item["value"] is None for item in ok_json(home, "show", uuid)["items"])


def test_photos_attach_from_files_and_folders(home: Path, tmp_path: Path) -> None:
    uuid = new(home)
    folder = tmp_path / "DCIM"
    folder.mkdir()
    for name in ("DSCN0010.jpg", "no_exif.jpg"):
        (folder / name).write_bytes((PHOTOS / name).read_bytes())
    (folder / "notes.txt").write_text("not a photo")
    attached = ok_json(home, "photo", uuid, "CB-18", str(folder))["photos"]
    assert len(attached) == 2  # the .txt is not an image file and is skipped
    item = next(i for i in ok_json(home, "show", uuid)["items"] if i["item"] == "CB-18")
    assert item["photos"] == attached
    for sha in attached:
        assert (home / "photos" / sha[:2] / f"{sha}.jpg").is_file()


def test_finish_freezes_and_nothing_can_change_after(home: Path) -> None:
    uuid = new(home)
    refused = run(home, "finish", uuid)
    assert refused.exit_code == 1 and "CB-01" in refused.output
    for item, value in (*NO_BOILER_ANSWERS, ("CB-18", "compliant")):
        ok_json(home, "answer", uuid, item, value)
    assert ok_json(home, "finish", uuid)["state"] == "queued"
    late = run(home, "answer", uuid, "CB-18", "non_compliant")
    assert late.exit_code == 1 and "can no longer be changed" in late.output
    status = ok_json(home, "status")
    assert status["counts"]["queued"] == 1 and status["outbox"]["inspections"] == 1


def test_sites_search_and_qr(home: Path, tmp_path: Path) -> None:
    assert [s["id"] for s in ok_json(home, "sites", "长治")] == [8]
    assert [s["id"] for s in ok_json(home, "sites", "91140602")] == [7, 8]
    assert ok_json(home, "sites", "不存在") == []
    label = tmp_path / "label.png"
    qrcode.make(f"http://127.0.0.1:5000/s/{SITE['qr_token']}").save(label)
    assert [s["id"] for s in ok_json(home, "sites", "--qr", str(label))] == [7]
    blank = tmp_path / "blank.jpg"
    blank.write_bytes((PHOTOS / "no_exif.jpg").read_bytes())
    result = run(home, "sites", "--qr", str(blank))
    assert result.exit_code == 1 and "no QR code" in result.output


def test_fill_walks_items_skips_by_condition_and_resumes(home: Path) -> None:
    uuid = new(home)
    # CB-01 outside (so CB-02/03 are skipped), CB-04 no (CB-05..08 skipped), then quit.
    # Each answer is followed by its note prompt (Enter: no note).
    first = run(home, "fill", uuid, input="2\n\n2\n\nq\n")
    assert first.exit_code == 0, first.output
    assert "朔政办发〔2020〕9号" in first.output or "并政发〔2018〕40号" in first.output
    answers = {i["item"]: i["value"] for i in ok_json(home, "show", uuid)["items"]}
    assert answers["CB-01"] == "outside" and answers["CB-04"] == "no"
    assert "CB-02" not in first.output.split("CB-04")[0]  # skipped: condition not met
    # Resume: CB-09 yes, CB-10 12 → 不符合 at once, a photo for it, then the rest.
    photo = PHOTOS / "DSCN0010.jpg"
    second = run(home, "fill", uuid, input=f"1\n\n12\n\n{photo}\n2\n\n2\n\n1\n\n3\n\n")
    assert second.exit_code == 0, second.output
    assert "不符合 / non-compliant" in second.output
    assert "CB-01" not in second.output  # answered items are passed over
    shown = ok_json(home, "show", uuid)
    cb10 = next(i for i in shown["items"] if i["item"] == "CB-10")
    assert cb10["value"] == 12 and cb10["verdict"] == "non_compliant" and cb10["photos"]
    assert shown["missing"] == []
    assert ok_json(home, "finish", uuid)["state"] == "queued"


def test_every_command_has_json(home: Path) -> None:
    for command in main.commands.values():
        names = {option for param in command.params for option in getattr(param, "opts", [])}
        assert "--json" in names, command.name


def test_login_to_a_dead_server_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "--home",
            str(tmp_path),
            "login",
            "--server",
            "http://127.0.0.1:9",
            "--user",
            "x",
            "--password",
            "y",
        ],
        env={"LANTIAN_FIELD_RETRY_ATTEMPTS": "2", "LANTIAN_FIELD_RETRY_BASE": "0.01"},
    )
    assert result.exit_code == 1 and "cannot reach the server" in result.output
    assert not (tmp_path / "credentials.json").exists()


def test_sync_without_login_says_so(home: Path) -> None:
    result = run(home, "sync")
    assert result.exit_code == 1 and "not logged in" in result.output


def test_photo_watermark_from_the_command_line(home: Path) -> None:
    (home / "credentials.json").write_text(
        json.dumps(
            {
                "server": "http://127.0.0.1:9",
                "username": "inspector1",
                "role": "inspector",
                "token": "t",
                "expires_at": "2030-01-01T00:00:00Z",
            }
        )
    )
    uuid = new(home)
    plain = ok_json(home, "photo", uuid, "CB-18", str(PHOTOS / "landscape_1.jpg"))["photos"]
    marked = ok_json(home, "photo", uuid, "CB-18", str(PHOTOS / "landscape_1.jpg"), "--watermark")[
        "photos"
    ]
    assert plain != marked  # burnt in: other pixels, other hash


def test_watermark_starts_with_the_photos_own_time_and_place(home: Path) -> None:
    from field_client.capture import _watermark

    mark = _watermark(PHOTOS / "DSCN0010.jpg", ("site SZ-B-01",))
    assert mark.lines == ("2008-10-22 16:28:39+08:00  43.46745, 11.88513", "site SZ-B-01")
    assert _watermark(PHOTOS / "no_exif.jpg", ()).lines == ("time unknown  no GPS",)
