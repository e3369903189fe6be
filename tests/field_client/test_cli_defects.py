"""Field client defects found from outside (issue 16, items 14, 15 and 17), each pinned by a
test through the real command line and the real local store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pillow_heif
import pytest
import qrcode

import checklists as rules
from field_client.store import Store
from tests.field_client.test_capture_cli import SITE, home, new, ok_json, run  # noqa: F401
from tests.helpers import NO_BOILER_ANSWERS, PHOTOS

UTC_EVENING = "2026-11-28T20:30:00Z"  # 2026-11-29 04:30 in China


def _flat(text: str) -> str:
    """Output with line breaks, panel borders and spaces removed, to find wrapped text."""
    return re.sub(r"[\s│╭╮╰╯─]", "", text)


# ---- 14: times in China time, whatever TZ says


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_list_and_status_show_china_time(home: Path, tz: str) -> None:  # noqa: F811
    uuid = new(home)
    store = Store(home)
    with store.transaction() as db:
        db.execute("UPDATE inspections SET started_at = ? WHERE uuid = ?", (UTC_EVENING, uuid))
        store.set_meta("last_sync", UTC_EVENING, db)
    store.close()
    listed = run(home, "list", env={"TZ": tz, "COLUMNS": "200"})
    assert listed.exit_code == 0 and "2026-11-29 04:30" in listed.output, listed.output
    status = run(home, "status", env={"TZ": tz})
    assert "2026-11-29 04:30" in status.output and "20:30" not in status.output


# ---- 15: fill


def test_fill_wraps_panel_lines_at_60_columns(home: Path) -> None:  # noqa: F811
    uuid = new(home)
    result = run(home, "fill", uuid, input="q\n", env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    first = rules.load_all()["coal-and-boilers"].item("CB-01")
    assert first is not None
    shown = _flat(result.output)
    assert _flat(first.text.zh) in shown and _flat(first.text.en) in shown
    from datetime import date

    from checklists.governance import load_governance
    from checklists.scope import Scope, bases_in_force

    # The site is in 朔州: only the quotes of plans governing it are shown, each in full.
    in_force = bases_in_force(first, Scope.of(load_governance(), "朔州", date.today()))
    assert in_force
    for basis in in_force:
        assert _flat(basis.quote) in shown, basis.quote
    assert all(len(line) <= 60 for line in result.output.splitlines())


def test_fill_asks_for_a_note(home: Path) -> None:  # noqa: F811
    uuid = new(home)
    result = run(home, "fill", uuid, input="2\n散煤已清理\nq\n")
    assert result.exit_code == 0, result.output
    assert "note" in result.output
    cb01 = next(i for i in ok_json(home, "show", uuid)["items"] if i["item"] == "CB-01")
    assert cb01["value"] == "outside" and cb01["note"] == "散煤已清理"


def _to_cb10(home: Path) -> str:  # noqa: F811
    """An inspection whose next item in `fill` is CB-10 (boiler capacity)."""
    uuid = new(home)
    for item, value in (("CB-01", "outside"), ("CB-04", "no"), ("CB-09", "yes")):
        ok_json(home, "answer", uuid, item, value)
    return uuid


def test_fill_expands_tilde_in_photo_paths(home: Path, tmp_path: Path) -> None:  # noqa: F811
    uuid = _to_cb10(home)
    user_home = tmp_path / "user"
    user_home.mkdir()
    (user_home / "cb10.jpg").write_bytes((PHOTOS / "DSCN0010.jpg").read_bytes())
    result = run(home, "fill", uuid, input="12\n\n~/cb10.jpg\nq\n", env={"HOME": str(user_home)})
    assert result.exit_code == 0, result.output
    cb10 = next(i for i in ok_json(home, "show", uuid)["items"] if i["item"] == "CB-10")
    assert len(cb10["photos"]) == 1, result.output


def test_fill_q_at_the_photo_prompt_leaves(home: Path) -> None:  # noqa: F811
    uuid = _to_cb10(home)
    result = run(home, "fill", uuid, input="12\n\nq\n")
    assert result.exit_code == 0, result.output
    assert "not found" not in result.output and "不存在" not in result.output
    assert "saved; run fill again to resume" in result.output
    assert "CB-12" not in result.output  # it left instead of going on


def test_fill_on_a_returned_inspection_shows_the_supervisors_comment(home: Path) -> None:  # noqa: F811
    uuid = new(home)
    for item, value in (*NO_BOILER_ANSWERS, ("CB-18", "compliant")):
        ok_json(home, "answer", uuid, item, value)
    store = Store(home)
    with store.transaction() as db:
        db.execute(
            "UPDATE inspections SET state = 'returned', review_status = 'returned', "
            "review_comment = ? WHERE uuid = ?",
            ("请补拍锅炉铭牌照片", uuid),
        )
    store.close()
    result = run(home, "fill", uuid, input="q\n")
    assert result.exit_code == 0 and "请补拍锅炉铭牌照片" in result.output, result.output


# ---- 17: photos, numbers, addresses


def test_sites_qr_reads_a_heic_photo(home: Path, tmp_path: Path) -> None:  # noqa: F811
    """In a fresh process: HEIC opens only where pillow-heif registered itself, and another
    test in this process may already have done that."""
    label = tmp_path / "label.heic"
    code = qrcode.make(f"http://127.0.0.1:5000/s/{SITE['qr_token']}").get_image()
    pillow_heif.from_pillow(code.convert("RGB")).save(label)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "lantian-field"),
            *("--home", str(home), "--json", "sites", "--qr", str(label)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert [s["id"] for s in json.loads(result.stdout)] == [7]


def test_an_unreadable_photo_is_named_not_shown_as_an_object(home: Path, tmp_path: Path) -> None:  # noqa: F811
    uuid = new(home)
    fake = tmp_path / "fake.jpg"
    fake.write_text("this is not a photo")
    for args in (("photo", uuid, "CB-18", str(fake)), ("sites", "--qr", str(fake))):
        result = run(home, *args)
        assert result.exit_code == 1, result.output
        assert "BytesIO" not in result.output and "object at 0x" not in result.output
        assert "fake.jpg" in result.output and "not a recognisable image" in result.output


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("-5", "negative"),
        ("1e9", "at most"),
        ("nan", "finite"),
    ],
)
def test_implausible_numbers_are_refused_clearly(home: Path, value: str, words: str) -> None:  # noqa: F811
    uuid = _to_cb10(home)
    result = run(home, "answer", uuid, "CB-10", value)
    assert result.exit_code == 1 and words in result.output, result.output
    assert "No such option" not in result.output
    cb10 = next(i for i in ok_json(home, "show", uuid)["items"] if i["item"] == "CB-10")
    assert cb10["value"] is None


def test_a_negative_number_answers_where_it_may() -> None:
    """`-5` reaches the answer as a value (not an option); bounds then judge it."""
    item = rules.load_all()["fugitive-emissions"].item("FE-12")
    assert item is not None and item.unit == "辆/日"
    rules.check_value(item, 120)
    for bad, words in ((-5, "negative"), (1e9, "at most"), (2.5, "whole number")):
        with pytest.raises(rules.AnswerError, match=words):
            rules.check_value(item, bad)


def test_every_number_item_has_a_plausible_range() -> None:
    for checklist in rules.load_all().values():
        for item in checklist.items:
            if item.answer_type is rules.AnswerType.NUMBER:
                assert rules.plausible_range(item.unit) is not None, (checklist.id, item.unit)


@pytest.mark.parametrize("server", ["127.0.0.1:5000", "localhost", "ftp://example.org"])
def test_login_without_a_scheme_says_so_in_both_languages(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, "login", "--server", server, "--user", "x", "--password", "y")
    assert result.exit_code != 0
    assert "http://" in result.output and "服务器地址" in result.output, result.output
    assert not (tmp_path / "credentials.json").exists()
