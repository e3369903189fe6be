"""Profile one end-to-end sync on both sides: py-spy on the gunicorn workers, pyinstrument
on `lantian-field sync`.

Run: `.venv/bin/python -m bench.profile_sync [--inspections 30] [--photos 3]
[--link 4g|3g|3g-cuts]` (`--link`: through bench/shaped_link.py, as bench/sync_link.py runs
it, with the real photos that benchmark uses). Needs py-spy and
pyinstrument in the project's virtualenv, installed for profiling only (they are not
dependencies): `.venv/bin/pip install py-spy pyinstrument`. Writes to bench/out/profiles/:
`client.txt` (pyinstrument's call tree), `server.txt` (time per request type from the
access log, then py-spy's on-CPU samples summed by function, inclusive and own) and
`server.raw` (py-spy's collapsed stacks, for a flame graph).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, OUT, start_gunicorn
from bench.sync_e2e import camera_photos, make_template
from bench.sync_link import PROFILES as LINKS
from bench.sync_link import Link, real_photos

PROFILES = OUT / "profiles"
CLIENT = "from field_client.cli import main; import sys; sys.argv[0] = 'lantian-field'; main()"


def summarize(raw: Path, top: int = 45) -> str:
    """py-spy's collapsed stacks → samples per function, inclusive and own, busiest first."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [
            frame.split(" (")[0] + " " + frame.rsplit("/", 1)[-1].rstrip(")")
            for frame in stack.split(";")
        ]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"{total} on-CPU samples (all workers)", "", "inclusive:"]
    lines += [f"{count / total:6.1%}  {frame}" for frame, count in inclusive.most_common(top)]
    lines += ["", "own:"]
    lines += [f"{count / total:6.1%}  {frame}" for frame, count in own.most_common(top)]
    return "\n".join(lines)


ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" \d+ \S+ (?P<ms>\d+)ms')


def by_request(log: Path) -> str:
    """Requests per kind (ids replaced), with their count and server-side milliseconds."""
    count: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for match in ACCESS.finditer(log.read_text(errors="replace")):
        path = re.sub(r"[0-9a-f]{64}", "{sha256}", match["path"])
        path = re.sub(r"/uploads/[A-Za-z0-9_-]{16,}", "/uploads/{id}", path)
        path = re.sub(r"[0-9a-f-]{36}", "{uuid}", path).split("?")[0]
        key = f"{match['method']} {path}"
        count[key] += 1
        total[key] += int(match["ms"])
    lines = ["server time per request kind (gunicorn access log):"]
    for key, ms in total.most_common():
        lines.append(f"{ms:7d} ms  {count[key]:5d} × {ms / count[key]:6.1f} ms  {key}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspections", type=int, default=30)
    parser.add_argument("--photos", type=int, default=3, help="photos per inspection")
    parser.add_argument("--link", choices=sorted(LINKS), help="through a shaped link")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy", path=str(BIN))
    if py_spy is None:
        raise SystemExit("needs py-spy and pyinstrument: .venv/bin/pip install py-spy pyinstrument")
    scratch = OUT / "profile-sync"
    shutil.rmtree(scratch, ignore_errors=True)
    PROFILES.mkdir(parents=True, exist_ok=True)
    count = args.inspections * args.photos
    photos = real_photos(count) if args.link else camera_photos(count)
    template = make_template(scratch / "template", args.inspections, photos, args.photos)
    env = template.env
    server = start_gunicorn("ours-profile", "server:create_app()", env, port=template.port)
    link = None
    if args.link:
        link = Link(LINKS[args.link], template.port, seed=1)
        saved_path = template.home / "credentials.json"
        saved = json.loads(saved_path.read_text())
        saved["server"] = link.url
        saved_path.write_text(json.dumps(saved))
    raw = PROFILES / "server.raw"
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)  # py-spy attaches to every worker
    try:
        began = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "python"),
                "-m",
                "pyinstrument",
                "--renderer",
                "text",
                "--show-all",
                "--outfile",
                str(PROFILES / "client.txt"),
                "-c",
                CLIENT,
                "--json",
                "sync",
            ],
            env={**os.environ, "LANTIAN_FIELD_HOME": str(template.home)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"sync took {time.perf_counter() - began:.2f} s under the profilers")
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes what it has
        spy.wait(timeout=30)
        if link is not None:
            print(f"link: {link.stop()}")
        server.stop()
    report = by_request(server.log) + "\n\n" + summarize(raw)
    (PROFILES / "server.txt").write_text(report, encoding="utf-8")
    print(f"wrote {PROFILES}/client.txt, server.txt, server.raw")


if __name__ == "__main__":
    main()
