"""The loader reports every problem of a bad file, and versions follow content."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from checklists import CHECKLISTS_DIR, ChecklistError, content_version, load_file, parse_checklist

SOURCE = CHECKLISTS_DIR / "coal-and-boilers.yaml"


def raw() -> dict:
    return yaml.safe_load(SOURCE.read_text(encoding="utf-8"))


def test_version_is_a_content_hash() -> None:
    content = raw()
    assert parse_checklist(content).version == content_version(content)
    changed = copy.deepcopy(content)
    changed["items"][0]["days_to_rectify"] += 1
    assert parse_checklist(changed).version != parse_checklist(content).version


def test_formatting_and_comments_do_not_change_the_version(tmp_path: Path) -> None:
    text = SOURCE.read_text(encoding="utf-8")
    copy_path = tmp_path / SOURCE.name
    copy_path.write_text("# a comment\n\n" + text, encoding="utf-8")
    assert load_file(copy_path).version == load_file(SOURCE).version


def test_every_problem_is_reported_at_once() -> None:
    content = raw()
    content["items"][0]["severity"] = "catastrophic"
    content["items"][1]["basis"] = [{"source": "nope.txt", "clause": "", "quote": "x"}]
    content["items"][2]["answer"] = {"type": "number"}
    content["items"][3]["code"] = content["items"][4]["code"]
    with pytest.raises(ChecklistError) as caught:
        parse_checklist(content)
    text = "\n".join(caught.value.problems)
    assert "catastrophic" in text
    assert "unknown source file" in text
    assert "needs a clause" in text
    assert "needs a unit" in text
    assert "used twice" in text


def test_condition_must_point_backwards_to_a_known_item() -> None:
    content = raw()
    content["items"][0]["condition"] = {"item": content["items"][1]["code"], "equals": "x"}
    with pytest.raises(ChecklistError, match="must come before"):
        parse_checklist(content)
    content["items"][0]["condition"] = {"item": "ZZ-99", "equals": "x"}
    with pytest.raises(ChecklistError, match="unknown item"):
        parse_checklist(content)


def test_file_name_must_match_id(tmp_path: Path) -> None:
    path = tmp_path / "other-name.yaml"
    path.write_text(SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ChecklistError, match="must match the file name"):
        load_file(path)


def test_broken_yaml_is_a_checklist_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match="not valid YAML"):
        load_file(path)


def test_unquoted_comma_in_a_flow_mapping_is_caught() -> None:
    content = yaml.safe_load("""
id: x
title: {zh: 标题, en: Coal, boilers}
site_kinds: [industrial]
items: []
""")
    with pytest.raises(ChecklistError, match="only zh and en allowed"):
        parse_checklist(content)


def _dust() -> dict:
    return yaml.safe_load((CHECKLISTS_DIR / "construction-dust.yaml").read_text(encoding="utf-8"))


def test_an_encouraging_quote_must_say_its_strength() -> None:
    content = _dust()
    cd10 = next(item for item in content["items"] if item["code"] == "CD-10")
    encouraged = next(basis for basis in cd10["basis"] if "鼓励" in basis["quote"])
    del encouraged["strength"]
    with pytest.raises(ChecklistError, match="give strength explicitly"):
        parse_checklist(content)


def test_a_default_limit_borrowed_by_other_cities_is_refused() -> None:
    content = raw()
    ash = next(item for item in content["items"] if item["code"] == "CB-05")
    ash["answer"]["limits"][0]["default"] = True
    with pytest.raises(ChecklistError, match="unknown keys"):
        parse_checklist(content)


def test_a_quote_condition_must_point_backwards_to_a_known_item() -> None:
    content = _dust()
    cd10 = next(item for item in content["items"] if item["code"] == "CD-10")
    next(basis for basis in cd10["basis"] if "when" in basis)["when"]["item"] = "CD-20"
    with pytest.raises(ChecklistError, match="CD-20 must come before it"):
        parse_checklist(content)


def test_a_deadline_must_be_a_date() -> None:
    content = raw()
    boiler = next(item for item in content["items"] if item["code"] == "CB-10")
    boiler["answer"]["limits"][0]["from"] = "end of August"
    with pytest.raises(ChecklistError, match="is not a date"):
        parse_checklist(content)
