"""A shift's sync over a shaped link: good 4G, rural 3G, rural 3G with cuts.

Run alone: `.venv/bin/python -m bench.sync_link [--inspections 20] [--photos 5]
[--rounds 1] [--profile 4g --profile 3g ...]` (or with every benchmark: `make bench`).

Set up once (not timed): a server of ours (SQLite) and a field client that logged in,
pulled and captured the shift — N inspections × M photos made from the real photos in
../shared/photos (or tests/data/photos), each a distinct crop, imported through the
client's own pipeline. Each run copies both, serves the copy with gunicorn (production
settings, deploy/gunicorn.conf.py) behind `bench/shaped_link.py`, and times:

- ours: `lantian-field sync`, run again until it exits 0 if a cut ends a run (a user would),
  all runs counted;
- naive: each photo with one plain sequential `PUT` (sent again whole after a break), then
  its inspection, one at a time: what a straightforward uploader does;
- the floor: payload (photo bytes + inspection bodies) / uplink + 1 RTT.

After every run the server's database and photo store are checked: each inspection once
(one revision), each photo once with bytes that hash to its name. The link's own delivery
(RTT, up and down rate) is measured first for each profile (`shaped_link.validate`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageOps

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, OUT, ROOT, busy_processes, machine_load, start_gunicorn
from bench.results import Row
from bench.shaped_link import Profile, validate
from bench.sync_e2e import Template, make_template

PROFILES = {
    "4g": Profile("good 4G", 0.060, 5e6, 20e6),
    "3g": Profile("rural 3G", 0.300, 1e6, 2e6),
    "3g-cuts": Profile("rural 3G, a cut every ~4 MB", 0.300, 1e6, 2e6, 4_000_000),
}
TARGETS = {"4g": 1.1, "3g": 1.2, "3g-cuts": 1.3}
TITLE = "Shift sync over a shaped link"
# What the runs showed, written by hand from them; appended to the section.
NOTES = Path(__file__).with_name("link_notes.md")
VALIDATION_HEADER = (
    "| profile | RTT ms set | RTT ms measured | up Mbit/s set | up measured "
    "| down Mbit/s set | down measured |\n|---|---|---|---|---|---|---|"
)
RUNS_HEADER = (
    "| profile | who | s | × floor | requests | cuts | bytes up / payload | runs "
    "| server holds | exactly once | empty sync s | requests by kind |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)
PHOTO_SOURCES = (ROOT.parent / "shared" / "photos" / "jpg", ROOT / "tests" / "data" / "photos")
VARIANTS = OUT / "link-photos"
# Real photos only: at least this many pixels on the short side, and not the damaged ones.
MIN_SIDE = 450
SKIP = ("corrupted", "invalid")


@dataclass
class Settings:
    inspections: int = 20
    photos: int = 5
    rounds: int = 1
    profiles: tuple[str, ...] = ("4g", "3g", "3g-cuts")
    # Real photos at least this many pixels on the short side: 450 takes every real photo
    # that is not a thumbnail (most are 640×480 camera samples, a few 2000+ px phone
    # photos); 900 only the phone-sized ones, which the client stores at 2000 px.
    min_side: int = MIN_SIDE

    @classmethod
    def quick(cls) -> Settings:
        return cls(inspections=4, photos=5, rounds=1)


def real_photos(count: int, min_side: int = MIN_SIDE) -> list[Path]:
    """`count` distinct JPEGs cut from the real photos: the n-th is a 90 % crop of a source
    at an offset of its own (mirrored every other time), so each hashes differently."""
    sources = []
    for root in PHOTO_SOURCES:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.jpg")):
            if any(part in SKIP for part in path.parts):
                continue
            with Image.open(path) as image:
                if min(image.size) >= min_side:
                    sources.append(path)
        if sources:
            break
    if not sources:
        raise RuntimeError("no real photos found in ../shared/photos or tests/data/photos")
    folder = VARIANTS / f"min-{min_side}"
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for number in range(count):
        target = folder / f"variant-{number:04d}.jpg"
        if not target.exists():
            source = sources[number % len(sources)]
            turn = number // len(sources)
            with Image.open(source) as opened:
                image = ImageOps.exif_transpose(opened).convert("RGB")
            width, height = image.size
            crop_w, crop_h = int(width * 0.9), int(height * 0.9)
            left = (turn * 37) % (width - crop_w + 1)
            top = (turn * 53) % (height - crop_h + 1)
            image = image.crop((left, top, left + crop_w, top + crop_h))
            if turn % 2:
                image = ImageOps.mirror(image)
            image.save(target.with_suffix(".tmp"), format="JPEG", quality=92)
            target.with_suffix(".tmp").replace(target)
        made.append(target)
    return made


# ---- one run


class Link:
    """bench/shaped_link.py as a process in front of a port; `stop` returns its counts."""

    def __init__(self, profile: Profile, target_port: int, seed: int) -> None:
        self.process = subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "bench.shaped_link",
                "--target",
                str(target_port),
                "--seed",
                str(seed),
                *profile.args(),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError(f"shaped link did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> dict[str, Any]:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        for line in reversed(out.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        return {}


@dataclass
class Run:
    who: str
    profile: str
    seconds: float
    attempts: int
    requests: Counter[str]
    link: dict[str, Any]
    counts: dict[str, int]
    ok: bool
    # ours: `lantian-field sync` run again at once with nothing left to send, through the
    # same link: the fixed cost of a run (interpreter start, one question, the outcomes).
    empty_s: float = 0.0


ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d+)')


def requests_by_kind(log: Path, upto: int | None = None) -> Counter[str]:
    """Requests in the access log (its first `upto` bytes), by method and path shape."""
    kinds: Counter[str] = Counter()
    for match in ACCESS.finditer(log.read_bytes()[:upto].decode(errors="replace")):
        path = re.sub(r"[0-9a-f]{64}", "{sha256}", match["path"])
        path = re.sub(r"/uploads/[A-Za-z0-9_-]{16,}", "/uploads/{id}", path)
        path = re.sub(r"[0-9a-f-]{36}", "{uuid}", path).split("?")[0]
        kinds[f"{match['method']} {path}"] += 1
    return kinds


def exactly_once(server_dir: Path, inspections: int, photos: int) -> dict[str, int]:
    """What the server holds: inspections, revisions, photos, photo files whose bytes hash
    to their name, and cited photos; `ok` when each is exactly what was sent."""
    with sqlite3.connect(server_dir / "lantian.sqlite3") as db:
        counts = {
            "inspections": db.execute("SELECT COUNT(*) FROM inspections").fetchone()[0],
            "revisions": db.execute("SELECT COUNT(*) FROM inspection_revisions").fetchone()[0],
            "photos": db.execute("SELECT COUNT(*) FROM photos").fetchone()[0],
            "cited": db.execute(
                "SELECT COUNT(DISTINCT photo_sha256) FROM answer_photos"
            ).fetchone()[0],
        }
        hashes = [row[0] for row in db.execute("SELECT sha256 FROM photos")]
    store = server_dir / "photos"
    intact = 0
    for sha in hashes:
        path = store / sha[:2] / sha[2:4] / sha
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha:
            intact += 1
    counts["intact"] = intact
    counts["ok"] = int(
        counts["inspections"] == inspections
        and counts["revisions"] == inspections
        and counts["photos"] == photos
        and counts["cited"] == photos
        and intact == photos
    )
    return counts


def ours(home: Path, attempts: int = 10) -> int:
    """`lantian-field sync` until it exits 0 (a cut that outlasts its retries ends a run)."""
    for attempt in range(1, attempts + 1):
        result = subprocess.run(
            [str(BIN / "lantian-field"), "--json", "sync"],
            env={**os.environ, "LANTIAN_FIELD_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if result.returncode == 0:
            return attempt
    raise RuntimeError(f"sync did not finish in {attempts} runs: {result.stderr[-1500:]}")


def naive(home: Path, url: str, token: str) -> int:
    """Each photo with one sequential PUT, then its inspection; a break sends it again."""
    from field_client.capture import wire_body
    from field_client.store import OUTBOX, Store

    store = Store(home)
    tries = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as http:

        def send(method: str, path: str, **kwargs: Any) -> None:
            nonlocal tries
            for _ in range(30):
                tries += 1
                try:
                    response = http.request(method, path, **kwargs)
                except httpx.TransportError:
                    time.sleep(0.5)
                    continue
                if response.status_code in (200, 201):
                    return
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
            raise RuntimeError(f"{method} {path}: gave up")

        for row in store.inspections(OUTBOX):
            body = wire_body(store, row["uuid"])
            hashes = dict.fromkeys(sha for answer in body["answers"] for sha in answer["photos"])
            for sha in hashes:
                data = store.photo_path(sha).read_bytes()
                send(
                    "PUT",
                    f"/api/v1/photos/{sha}",
                    content=data,
                    headers={"Content-Type": "image/jpeg"},
                )
            send("PUT", f"/api/v1/inspections/{row['uuid']}", json=body)
    store.close()
    return tries


def run_once(
    template: Template, scratch: Path, profile_key: str, who: str, settings: Settings, seed: int
) -> Run:
    profile = PROFILES[profile_key]
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(template.server_dir, scratch / "server")
    shutil.copytree(template.home, scratch / "field")
    env = {**template.env, "LANTIAN_DATA_DIR": str(scratch / "server")}
    server = start_gunicorn(f"link-{profile_key}-{who}", "server:create_app()", env)
    link = Link(profile, int(server.url.rsplit(":", 1)[1]), seed)
    stats: dict[str, Any] = {}
    upto = None
    try:
        saved_path = scratch / "field" / "credentials.json"
        saved = json.loads(saved_path.read_text())
        saved["server"] = link.url
        saved_path.write_text(json.dumps(saved))
        started = time.perf_counter()
        if who == "ours":
            attempts = ours(scratch / "field")
        else:
            attempts = naive(scratch / "field", link.url, saved["token"])
        seconds = time.perf_counter() - started
        empty = 0.0
        time.sleep(1.5)  # the access log is written as requests end
        upto = server.log.stat().st_size
        if who == "ours":
            started = time.perf_counter()
            ours(scratch / "field", attempts=1)
            empty = time.perf_counter() - started
    finally:
        stats = link.stop()
        server.stop()
    counts = exactly_once(
        scratch / "server", settings.inspections, settings.inspections * settings.photos
    )
    return Run(
        who,
        profile_key,
        seconds,
        attempts,
        requests_by_kind(server.log, upto),
        stats,
        counts,
        bool(counts["ok"]),
        empty,
    )


def payload(template: Template) -> int:
    """Photo bytes plus the inspections' JSON bodies: what must cross the uplink."""
    from field_client.capture import wire_body
    from field_client.store import OUTBOX, Store

    store = Store(template.home)
    try:
        bodies = sum(
            len(json.dumps(wire_body(store, row["uuid"])).encode())
            for row in store.inspections(OUTBOX)
        )
    finally:
        store.close()
    return template.photo_bytes + bodies


# ---- the whole benchmark


@dataclass
class Measured:
    runs: list[Run] = field(default_factory=list)
    validation: dict[str, dict[str, float]] = field(default_factory=dict)
    payload: int = 0
    template: Template | None = None


def run(settings: Settings, scratch: Path) -> tuple[list[Row], str]:
    shutil.rmtree(scratch, ignore_errors=True)
    measured = Measured()
    for key in settings.profiles:
        print(f"  link: validating {PROFILES[key].name}", flush=True)
        measured.validation[key] = asyncio.run(validate(PROFILES[key]))
    count = settings.inspections * settings.photos
    photos = real_photos(count, settings.min_side)
    print(f"  link: capturing {settings.inspections} inspections × {settings.photos}", flush=True)
    template = make_template(scratch / "template", settings.inspections, photos, settings.photos)
    measured.template = template
    measured.payload = payload(template)
    for number in range(settings.rounds):
        for key in settings.profiles:
            order = ["ours", "naive"] if number % 2 == 0 else ["naive", "ours"]
            for who in order:
                done = run_once(template, scratch / "round", key, who, settings, seed=number + 1)
                measured.runs.append(done)
                print(
                    f"  link: {key} {who}: {done.seconds:.1f} s, "
                    f"{sum(done.requests.values())} requests, cuts {done.link.get('cuts')}, "
                    f"exactly once: {done.ok}",
                    flush=True,
                )
    shutil.rmtree(scratch, ignore_errors=True)
    return report(settings, measured)


def floor_s(profile: Profile, size: int) -> float:
    return size * 8 / profile.up_bps + profile.rtt_s


def report(settings: Settings, measured: Measured) -> tuple[list[Row], str]:
    template = measured.template
    assert template is not None
    shift = f"{settings.inspections} × {settings.photos} photos"
    rows: list[Row] = []
    lines = []
    for key in settings.profiles:
        profile = PROFILES[key]
        floor = floor_s(profile, measured.payload)
        mine = [r for r in measured.runs if r.profile == key and r.who == "ours"]
        theirs = [r for r in measured.runs if r.profile == key and r.who == "naive"]
        rows.append(
            Row(
                f"shift sync {shift}, {profile.name}",
                "lantian-field sync",
                [r.seconds for r in mine],
                "floor: payload / uplink + 1 RTT",
                [floor],
                "s",
                TARGETS[key],
                higher_is_better=False,
                digits=1,
            )
        )
        rows.append(
            Row(
                f"shift sync {shift}, {profile.name}: against a naive uploader",
                "lantian-field sync",
                [r.seconds for r in mine],
                "one sequential PUT per file",
                [r.seconds for r in theirs],
                "s",
                1.0,
                higher_is_better=False,
                digits=1,
            )
        )
        for r in mine + theirs:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(r.requests.items()))
            sent = r.link.get("bytes_up", 0)
            lines.append(
                f"| {profile.name} | {r.who} | {r.seconds:.1f} | {r.seconds / floor:.2f}× | "
                f"{sum(r.requests.values())} | {r.link.get('cuts', 0)} | "
                f"{sent / measured.payload:.3f}× | {r.attempts} | "
                f"{r.counts['inspections']}/{r.counts['revisions']}/{r.counts['photos']}/"
                f"{r.counts['intact']} | {'yes' if r.ok else '**no**'} | "
                f"{f'{r.empty_s:.1f}' if r.who == 'ours' else '–'} | {kinds} |"
            )
    checks = []
    for key, found in measured.validation.items():
        checks.append(
            f"| {PROFILES[key].name} | {found['rtt_ms_configured']:.0f} | "
            f"{found['rtt_ms_measured']:.0f} | {found['up_mbit_configured']:g} | "
            f"{found['up_mbit_measured']:.2f} | {found['down_mbit_configured']:g} | "
            f"{found['down_mbit_measured']:.2f} |"
        )
    floors = ", ".join(
        f"{PROFILES[k].name} {floor_s(PROFILES[k], measured.payload):.1f} s"
        for k in settings.profiles
    )
    table_runs = "\n".join(lines)
    table_checks = "\n".join(checks)
    notes = f"""
A shift of {settings.inspections} inspections × {settings.photos} photos
({template.photos} stored photos, {template.photo_bytes / 1e6:.1f} MB, real photos at least
{settings.min_side} px on the short side; payload with the
inspection bodies {measured.payload / 1e6:.2f} MB), cut from the real photos in
`../shared/photos` and imported through the client's pipeline, synced from a fresh copy of
the field client to a fresh copy of the server (SQLite, gunicorn with the production
settings) through `bench/shaped_link.py`. Floors: {floors}.
{settings.rounds} round(s), ours and the naive uploader alternating.

What the link delivered (measured before the runs on one connection, `--validate`):

{VALIDATION_HEADER}
{table_checks}

Each run (requests from the server's access log; bytes up: what entered the link's uplink,
over the payload; runs: `lantian-field sync` invocations for ours, requests tried for the
naive uploader; server holds: inspections / revisions / photos / photos whose bytes hash to
their name; empty sync: `lantian-field sync` run again at once with nothing left, through
the same link, i.e. the fixed cost of a run: interpreter start, the question, the outcomes):

{RUNS_HEADER}
{table_runs}
"""
    if NOTES.exists():
        notes += "\n" + NOTES.read_text(encoding="utf-8")
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small shift, for development")
    parser.add_argument("--inspections", type=int)
    parser.add_argument("--photos", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--profile", action="append", choices=sorted(PROFILES))
    parser.add_argument(
        "--min-side", type=int, help=f"real photos this large only (default {MIN_SIDE})"
    )
    parser.add_argument(
        "--write", action="store_true", help=f"write the section '{TITLE}' of bench/RESULTS.md"
    )
    args = parser.parse_args()
    settings = Settings.quick() if args.quick else Settings()
    if args.inspections:
        settings.inspections = args.inspections
    if args.photos:
        settings.photos = args.photos
    if args.rounds:
        settings.rounds = args.rounds
    if args.profile:
        settings.profiles = tuple(args.profile)
    if args.min_side:
        settings.min_side = args.min_side
    load_before, busy_before = machine_load(), busy_processes()
    began = time.monotonic()
    rows, notes = run(settings, OUT / "link")
    from bench.results import table, write_section

    others = sorted({entry.rsplit(" ", 1)[0] for entry in busy_before + busy_processes()})
    context = (
        f"Run on its own (`python -m bench.sync_link --write`) in "
        f"{(time.monotonic() - began) / 60:.1f} min; {load_before} before, {machine_load()} "
        f"after; other work on the machine: {', '.join(others) if others else 'none seen'}."
    )
    print(table(rows))
    print(notes)
    print(context)
    if args.write:
        write_section(TITLE, f"{table(rows)}\n\n{context}\n{notes}")
        print(f"written to bench/RESULTS.md, section '{TITLE}'")


if __name__ == "__main__":
    main()
