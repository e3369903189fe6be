"""The wheel carries everything the server needs (issue 16 item 12): the rules, the plan
texts and the migrations. It is built from a copy of the source, installed into a fresh
virtual environment, and `checklists check`, `db upgrade` and `demo` are run from it, in a
scratch directory, against a scratch SQLite database.

The project comes from the wheel only. Its dependencies are borrowed from the running
environment by one `.pth` line (as `--system-site-packages` would, without downloading
them again); a `.pth` line adds a directory without running that directory's own `.pth`
files, so the editable install of the repository there is not activated, and the test
checks that `server` and `checklists` are imported from the new environment.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", "instance", ".*_cache", "test-artifacts"
)


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "lantian"
    shutil.copytree(REPO, source, ignore=LEFT_OUT)
    out = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
        env=dict(os.environ),
    )
    (built,) = out.glob("lantian_inspect-*.whl")
    return built


def test_the_wheel_holds_every_rule_plan_text_and_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        *(f"checklists/{p.name}" for p in (REPO / "checklists").glob("*.yaml")),
        *(f"checklists/sources/{p.name}" for p in (REPO / "checklists" / "sources").iterdir()),
        *(
            f"server/migrations/{p.relative_to(REPO / 'server' / 'migrations')}"
            for p in (REPO / "server" / "migrations").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ),
    ]
    assert len(expected) > 15
    assert sorted(set(expected) - names) == []


def test_an_installed_wheel_checks_migrates_and_loads_the_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=dict(os.environ))
    python = venv / "bin" / "python"
    purelib = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
            env={},
        ).strip()
    )
    borrowed = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (purelib / "borrowed_dependencies.pth").write_text("\n".join(dict.fromkeys(borrowed)) + "\n")
    run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "")},
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "LANTIAN_DATA_DIR": str(work / "data"),
        "LANTIAN_DATABASE_URL": f"sqlite:///{work / 'wheel.sqlite3'}",
    }
    where = run(
        [
            str(python),
            "-c",
            "import checklists, server; print(server.__file__); print(checklists.__file__)",
        ],
        cwd=work,
        env=env,
    ).split()
    assert all(Path(path).is_relative_to(purelib) for path in where), where

    server = str(venv / "bin" / "lantian-server")
    # An empty rule directory fails the check, so passing means the rules came along.
    checked = run([server, "checklists", "check"], cwd=work, env=env)
    assert "all checklists valid" in " ".join(checked.split()), checked  # rich wraps lines
    run([server, "db", "upgrade"], cwd=work, env=env)
    run([server, "demo"], cwd=work, env=env)
    assert (work / "wheel.sqlite3").stat().st_size > 100_000
    assert not (REPO / "build").exists()
