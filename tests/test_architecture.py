"""The import direction of DESIGN.md, enforced rather than remembered."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken" in result.stdout


def test_flask_request_is_used_only_in_api_and_web() -> None:
    offenders = []
    for path in (ROOT / "server").rglob("*.py"):
        relative = path.relative_to(ROOT / "server")
        if relative.parts[0] in ("api", "web", "http_common"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "flask"
                and any(alias.name == "request" for alias in node.names)
            ):
                offenders.append(str(relative))
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "request"
                and isinstance(node.value, ast.Name)
                and node.value.id == "flask"
            ):
                offenders.append(str(relative))
    assert offenders == []
