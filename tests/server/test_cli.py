"""`lantian-server` commands: users, the all-or-nothing site import, checklists, demo."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from checklists import CHECKLISTS_DIR, load_all
from server.cli import main
from server.extensions import db
from server.models import Enterprise, Inspection, Notice, Site, User
from server.services import evidence_checks, inspections
from server.services.credit_code import make_credit_code

HEADER = (
    "credit_code,enterprise_name,city,district,industry,contact_name,contact_phone,"
    "site_code,site_name,site_kind,address,lat,lon,radius_m\n"
)
GOOD_A = make_credit_code("91140400MA0CL0001")
GOOD_B = make_credit_code("91140100MA0CL0002")


def run(app: Flask, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def csv_file(tmp_path: Path, rows: list[str], encoding: str = "utf-8") -> str:
    path = tmp_path / "registry.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding=encoding)
    return str(path)


def test_users_add(app: Flask) -> None:
    result = run(app, "users", "add", "wang", "--role", "inspector", "--password", "secret-pw-1")
    assert result.exit_code == 0, result.output
    assert db.session.query(User).filter_by(username="wang").one().role == "inspector"
    duplicate = run(app, "users", "add", "wang", "--role", "inspector", "--password", "secret-pw-1")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output


def test_enterprise_user_needs_an_existing_enterprise(app: Flask) -> None:
    result = run(app, "users", "add", "e1", "--role", "enterprise", "--password", "secret-pw-1")
    assert result.exit_code == 1 and "--enterprise" in result.output
    result = run(
        app,
        "users",
        "add",
        "e1",
        "--role",
        "enterprise",
        "--enterprise",
        "777",
        "--password",
        "secret-pw-1",
    )
    assert result.exit_code == 1 and "777" in result.output
    assert db.session.query(User).count() == 0


def test_sites_import_good_file(app: Flask, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        [
            f"{GOOD_A},长治甲公司,长治,潞州区,水泥,张,139,CZ-001,甲厂区,industrial,路1号,36.19,113.11,400",
            f"{GOOD_A},长治甲公司,长治,潞州区,水泥,张,139,CZ-002,甲煤场,coal_yard,路2号,36.20,113.12,",
            f"{GOOD_B},太原乙公司,太原,小店区,建筑,李,138,TY-001,乙工地,construction,路3号,,,",
        ],
    )
    result = run(app, "sites", "import", path)
    assert result.exit_code == 0, result.output
    assert "2 enterprise(s), 3 site(s)" in result.output
    assert db.session.query(Site).count() == 3
    assert db.session.query(Site).filter_by(code="CZ-002").one().radius_m == 300.0
    # Importing again changes nothing and duplicates nothing.
    assert run(app, "sites", "import", path).exit_code == 0
    assert db.session.query(Site).count() == 3 and db.session.query(Enterprise).count() == 2


def test_sites_import_gbk_file_from_excel(app: Flask, tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        [
            f"{GOOD_A},长治甲公司,长治,潞州区,水泥,张,139,CZ-001,甲厂区,industrial,路1号,36.19,113.11,400",
        ],
        encoding="gb18030",
    )
    assert run(app, "sites", "import", path).exit_code == 0
    assert db.session.query(Enterprise).one().name == "长治甲公司"


def test_sites_import_reports_every_bad_row_and_imports_nothing(app: Flask, tmp_path: Path) -> None:
    bad_code = GOOD_A[:17] + ("0" if GOOD_A[17] != "0" else "1")
    path = csv_file(
        tmp_path,
        [
            f"{GOOD_A},长治甲公司,长治,潞州区,水泥,张,139,CZ-001,甲厂区,industrial,路1号,36.19,113.11,400",
            f"{bad_code},坏代码公司,长治,潞州区,水泥,张,139,CZ-003,丙,industrial,路,36.1,113.1,",
            f"{GOOD_B},太原乙公司,太原,小店区,建筑,李,138,TY-001,乙工地,spaceport,路3号,,,",
            f"{GOOD_B},太原乙公司,太原,小店区,建筑,李,138,TY-002,乙工地,construction,路3号,95,113,",
            f"{GOOD_B},太原乙公司,太原,小店区,建筑,李,138,TY-002,重复,construction,路3号,,,",
            ",无代码,太原,小店区,建筑,李,138,TY-009,丁,construction,路,,,",
        ],
    )
    result = run(app, "sites", "import", path)
    assert result.exit_code == 1
    output = result.output
    assert "nothing imported" in output
    problems = {}
    for text in output.splitlines():
        if " / line " in text:
            line = int(text.split(" / line ")[1].split(":")[0])
            problems.setdefault(line, []).append(text)
    assert sorted(problems) == [3, 4, 5, 6, 7]  # line 2 is good; line 1 is the header
    for line, words in (
        (3, "check digit"),
        (4, "spaceport"),
        (5, "lat out of range"),
        (6, "site_code repeats line 5"),
        (7, "credit_code is required"),
    ):
        assert any(words in text for text in problems[line]), (line, problems[line])
    assert db.session.query(Site).count() == 0 and db.session.query(Enterprise).count() == 0


def test_sites_import_needs_the_columns(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("name,city\nx,y\n", encoding="utf-8")
    result = run(app, "sites", "import", str(path))
    assert result.exit_code == 1 and "credit_code" in result.output


def test_checklists_check_fails_on_a_changed_limit(app: Flask, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(CHECKLISTS_DIR, rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    assert run(app, "checklists", "check", "--directory", str(rules)).exit_code == 0
    path = rules / "coal-and-boilers.yaml"
    text = path.read_text(encoding="utf-8")
    changed = text.replace(
        "{source: 000_32c90d3c411fd51f.txt, max: 16}", "{source: 000_32c90d3c411fd51f.txt, max: 17}"
    )
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    result = run(app, "checklists", "check", "--directory", str(rules))
    assert result.exit_code == 1 and "CB-05: limit max 17" in result.output, result.output


def test_checklists_check_and_load(app: Flask) -> None:
    check = run(app, "checklists", "check")
    assert check.exit_code == 0 and "every quote found" in check.output
    load = run(app, "checklists", "load")
    assert load.exit_code == 0 and "unchanged" in load.output  # the fixture loaded them


def test_demo_twice_creates_everything_once(app: Flask) -> None:
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    counts = (
        db.session.query(Enterprise).count(),
        db.session.query(Site).count(),
        db.session.query(User).count(),
    )
    second = run(app, "demo")
    assert second.exit_code == 0, second.output
    db.session.expire_all()
    assert (
        db.session.query(Enterprise).count(),
        db.session.query(Site).count(),
        db.session.query(User).count(),
    ) == counts
    assert counts[2] == 6
    # One inspection in a notice to the first enterprise, one waiting for review.
    assert [i.status for i in db.session.query(Inspection).order_by(Inspection.uuid)] == [
        "approved",
        "submitted",
    ]
    notice = db.session.query(Notice).one()
    assert len(notice.findings) == 2 and {f.item_code for f in notice.findings} == {
        "CD-03",
        "CD-04",
    }
    assert "演示检查 / demo inspections: 2" in first.output
    assert "演示检查 / demo inspections: 0" in second.output
    for inspection in db.session.query(Inspection):  # stand-in photos with time and place
        stored = inspections.stored_photos(inspection)
        assert evidence_checks.flags(inspection, stored) == [], inspection.uuid
    assert run(app, "audit", "verify").exit_code == 0
    # One orange alert for 朔州 and the cement plant's reduction list, also only once.
    from server.models import Alert, ReductionList

    assert [(a.level, a.city_codes) for a in db.session.query(Alert)] == [("orange", ["140600"])]
    assert db.session.query(ReductionList).count() == 1
    cities = {e.city for e in db.session.query(Enterprise)}
    assert cities == {"朔州", "长治", "太原", "高平"}
    assert "inspector1" in first.output and "lantian-field-2026" in first.output
    # One open task for inspector1 and inspector2, and one clue matched to its site.
    from server.models import Clue, Task

    task = db.session.query(Task).one()
    assert task.status == "open" and len(task.inspector_ids) == 2
    clue = db.session.query(Clue).one()
    assert task.site_ids[0] in [match["site_id"] for match in clue.matches]


def test_demo_has_a_site_of_every_checklist_kind_in_every_city(app: Flask) -> None:
    """Each checklist can be tried in each city: kilns, filling stations, repair shops …"""
    assert run(app, "demo", "--no-inspections").exit_code == 0
    kinds = {kind for checklist in load_all().values() for kind in checklist.site_kinds}
    found = {
        (enterprise.city, site.kind)
        for site, enterprise in db.session.query(Site, Enterprise).join(
            Enterprise, Site.enterprise_id == Enterprise.id
        )
    }
    for city in ("朔州", "长治", "太原", "高平"):
        assert {kind for place, kind in found if place == city} >= kinds, city


def test_demo_sites_added_later_leave_the_first_24_where_they_were(app: Flask) -> None:
    """README examples and saved field-client state name demo sites by row id."""
    from server.services.demo import CITIES

    assert run(app, "demo", "--no-inspections").exit_code == 0
    codes = [site.code for site in db.session.query(Site).order_by(Site.id)]
    original = [  # six sites in each city, city by city, before any kind was added
        f"DEMO-{division}-{index:02d}" for _, _, division, _, _ in CITIES for index in range(1, 7)
    ]
    assert codes[: len(original)] == original


def test_demo_without_inspections_for_benchmarks(app: Flask) -> None:
    result = run(app, "demo", "--no-inspections")
    assert result.exit_code == 0, result.output
    assert db.session.query(User).count() == 6
    assert db.session.query(Inspection).count() == 0
