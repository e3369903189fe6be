"""Run the test suite on both engines side by side: one pytest for SQLite, one for PostgreSQL.

Every test that touches a database is parametrized over the two engines, and the two halves
share nothing (each engine has its own database, servers take free ports, pytest gives each
session its own temporary directory), so on a machine with two cores running them at once
takes about half the time. Each half writes its own log; both are printed when both are done,
and the run fails when either half fails. Without a PostgreSQL URL there is one half.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

# `make test` keeps to about ten minutes on two cores: each race test runs its eight
# simultaneous requests over these many rounds, and the API fuzz test this many examples per
# operation. `make test-deep` runs the tests' own defaults (20 rounds, 25 examples); a value
# already in the environment wins either way.
QUICK = {
    "LANTIAN_RACE_ROUNDS": "5",
    "LANTIAN_DRAW_RACE_ROUNDS": "4",
    "LANTIAN_TASK_RACE_ROUNDS": "4",
    "LANTIAN_FUZZ_EXAMPLES": "12",
}


def main(args: list[str]) -> int:
    # The tests start many server and field-client processes: let the first write the
    # project's bytecode (__pycache__, git-ignored) so the rest load it instead of
    # compiling every module again, even where the environment turns bytecode off.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if os.environ.get("LANTIAN_TEST_DEPTH") != "deep":
        for name, value in QUICK.items():
            os.environ.setdefault(name, value)
    # The slowest tests are listed at the end of each half: what to look at when it grows.
    pytest = [sys.executable, "-m", "pytest", "--durations=15", *args]
    if not os.environ.get("LANTIAN_TEST_DATABASE_URL"):
        return subprocess.call(pytest)
    halves = {
        "sqlite (and the tests that use no database)": ["-k", "not postgresql"],
        "postgresql": ["-k", "postgresql"],
    }
    logs = Path(tempfile.mkdtemp(prefix="lantian-tests-"))
    running = {}
    for name, selection in halves.items():
        log = (logs / f"{name.split()[0]}.log").open("w")
        running[name] = (subprocess.Popen([*pytest, *selection], stdout=log, stderr=log), log)
    codes = {}
    for name, (process, log) in running.items():
        codes[name] = process.wait()
        log.close()
    for name in halves:
        print(f"\n===== {name} =====", flush=True)
        print((logs / f"{name.split()[0]}.log").read_text(), flush=True)
    # 5: a half that collected no test (PYTEST_ARGS named files of one engine only).
    if all(code == 5 for code in codes.values()):
        print("no test ran", file=sys.stderr)
        return 5
    failed = [name for name, code in codes.items() if code not in (0, 5)]
    if failed:
        print(f"failed: {', '.join(failed)} (exit codes {codes})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
