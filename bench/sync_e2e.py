"""End-to-end sync: inspections with photos from a fresh field client to a fresh server.

Run alone: `.venv/bin/python -m bench.sync_e2e [--quick]` (or all benchmarks: `make bench`).

Set up once (not timed): a server of ours (SQLite, as `make run` has it) and a field client
that logged in, pulled, and captured N inspections with 3 photos each through the real
client code (`field_client.capture`, so every photo went through the client's pipeline).
Both are kept as templates. Each round copies both templates, starts the copy of the server
under gunicorn (4 workers, production settings) on loopback, and times `lantian-field sync`
as a separate process, sampling its peak RSS (VmHWM). The floor alternates with it: the
same stored photo bytes, hashed (SHA-256) and written to a fresh directory with fsync each,
which is what a server must at least do with them.

A second, larger capture (1,000 photos) is synced once to report the client's peak RSS
while it sends that many.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import server_setup
from bench.common import BIN, OUT, free_port, start_gunicorn
from bench.results import Row

DEMO_USER, DEMO_PASSWORD = "inspector1", "lantian-field-2026"
PHOTO_SIZE = (2000, 1500)  # what the client stores; the sync sends the stored JPEG
NOISE_FIELD = (2400, 1800)
PHOTO_CACHE = OUT / "photo-cache"


@dataclass
class Settings:
    inspections: int = 100
    rounds: int = 3
    rss_photos: int = 1000

    @classmethod
    def quick(cls) -> Settings:
        return cls(inspections=20, rounds=2, rss_photos=120)


def _noise_field(seed: int) -> Image.Image:
    base = Image.new("RGB", NOISE_FIELD, (60 + seed * 37 % 120, 90 + seed * 53 % 100, 60))
    return Image.blend(base, Image.effect_noise(NOISE_FIELD, 20).convert("RGB"), 0.2)


def _make_photos(job: tuple[int, int]) -> list[str]:
    """Photos number first..last: crops of a noise field at distinct offsets, so each one
    differs (and hashes differently) while costing a crop and one JPEG encode."""
    first, last = job
    field_ = _noise_field(first)
    made = []
    for number in range(first, last):
        path = PHOTO_CACHE / f"photo-{number:05d}.jpg"
        if not path.exists():
            left, top = (number * 37) % 400, (number * 53) % 300
            crop = field_.crop((left, top, left + PHOTO_SIZE[0], top + PHOTO_SIZE[1]))
            crop.save(path.with_suffix(".tmp"), format="JPEG", quality=92)
            path.with_suffix(".tmp").replace(path)
        made.append(str(path))
    return made


def camera_photos(count: int) -> list[Path]:
    """`count` distinct camera JPEGs, kept in bench/out/photo-cache between runs."""
    PHOTO_CACHE.mkdir(parents=True, exist_ok=True)
    jobs = [(first, min(first + 100, count)) for first in range(0, count, 100)]
    with Pool(processes=min(2, os.cpu_count() or 1)) as pool:
        return [Path(p) for chunk in pool.map(_make_photos, jobs) for p in chunk]


def field_cli(home: Path, *args: str) -> dict:
    env = {**os.environ, "LANTIAN_FIELD_HOME": str(home)}
    result = subprocess.run(
        [str(BIN / "lantian-field"), "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout) if result.stdout.strip() else {}


def capture(home: Path, count: int, photos: list[Path], per: int = 3) -> None:
    """Make `count` complete inspections, `per` photos each, with the real client code."""
    from field_client import capture as cap
    from field_client.store import Store

    store = Store(home)
    site = next(s for s in store.search_sites("朔州") if s["kind"] == "boiler_house")
    for number in range(count):
        uuid = cap.start(store, site["id"], "coal-and-boilers")
        for item, value in (
            ("CB-01", "outside"),
            ("CB-04", "no"),
            ("CB-09", "no"),
            ("CB-12", "no"),
            ("CB-14", "no"),
            ("CB-19", "none"),
        ):
            cap.answer(store, uuid, item, value)
        cap.attach_photos(store, uuid, "CB-18", photos[number * per : number * per + per])
        cap.answer(store, uuid, "CB-18", "non_compliant")
        cap.finish(store, uuid)
    store.close()


def watch_peak_rss(process: subprocess.Popen[str]) -> int:
    """The process's own peak resident set (VmHWM, KiB), polled until it exits."""
    peak = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.02)
    return peak


def floor_seconds(home: Path, out: Path) -> float:
    """The stored photo bytes, hashed and written with fsync: what the disk allows."""
    files = sorted((home / "photos").glob("*/*.jpg"))
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        with open(out / digest, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return time.perf_counter() - started


@dataclass
class Template:
    """A prepared server data directory and a field home that captured inspections."""

    server_dir: Path
    home: Path
    port: int
    env: dict[str, str]
    photos: int
    photo_bytes: int


def make_template(root: Path, inspections: int, photos: list[Path], per: int = 3) -> Template:
    prepared = server_setup.prepare(root / "server", None, thirty=False)
    port = free_port()
    server = start_gunicorn("ours-sync-setup", "server:create_app()", prepared.env, port=port)
    home = root / "field"
    try:
        field_cli(
            home, "login", "--server", server.url, "--user", DEMO_USER, "--password", DEMO_PASSWORD
        )
        field_cli(home, "pull")
    finally:
        server.stop()
    capture(home, inspections, photos, per)
    stored = list((home / "photos").glob("*/*.jpg"))
    return Template(
        root / "server",
        home,
        port,
        prepared.env,
        len(stored),
        sum(p.stat().st_size for p in stored),
    )


@dataclass
class SyncRun:
    seconds: float
    peak_mib: float
    synced: int
    photos_sent: int


def sync_once(template: Template, scratch: Path, name: str) -> SyncRun:
    """Copy the templates, serve the copy, time one `lantian-field sync` of everything."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(template.server_dir, scratch / "server")
    shutil.copytree(template.home, scratch / "field")
    env = {**template.env, "LANTIAN_DATA_DIR": str(scratch / "server")}
    server = start_gunicorn(name, "server:create_app()", env, port=template.port)
    try:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(BIN / "lantian-field"), "--json", "sync"],
            env={**os.environ, "LANTIAN_FIELD_HOME": str(scratch / "field")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        peak_kib = watch_peak_rss(process)
        stdout, stderr = process.communicate()
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    if process.returncode != 0:
        raise RuntimeError(f"sync failed ({process.returncode}): {stdout} {stderr[-2000:]}")
    report = json.loads(stdout)
    return SyncRun(seconds, peak_kib / 1024, len(report["synced"]), report["photos_sent"])


@dataclass
class Measured:
    sync: list[SyncRun] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    big: SyncRun | None = None
    big_floor: float = 0.0
    template: Template | None = None
    big_template: Template | None = None


def run(settings: Settings, scratch: Path) -> tuple[list[Row], str]:
    shutil.rmtree(scratch, ignore_errors=True)
    count = settings.inspections * 3
    rss_inspections = -(-settings.rss_photos // 3)
    photos = camera_photos(max(count, rss_inspections * 3))
    measured = Measured()
    print(f"  sync: capturing {settings.inspections} inspections × 3 photos", flush=True)
    template = make_template(scratch / "template", settings.inspections, photos[:count])
    measured.template = template
    for number in range(settings.rounds):
        steps = ["sync", "floor"] if number % 2 == 0 else ["floor", "sync"]
        for step in steps:
            if step == "sync":
                run_ = sync_once(template, scratch / "round", f"ours-sync-{number}")
                if run_.synced != settings.inspections or run_.photos_sent != count:
                    raise RuntimeError(f"sync sent {run_.synced} inspections, {run_.photos_sent}")
                measured.sync.append(run_)
            else:
                shutil.rmtree(scratch / "floor", ignore_errors=True)
                measured.floor.append(floor_seconds(template.home, scratch / "floor"))
        print(f"  sync: round {number + 1}/{settings.rounds} done", flush=True)
    shutil.rmtree(scratch / "template", ignore_errors=True)
    print(f"  sync: capturing {rss_inspections * 3} photos for the RSS run", flush=True)
    big = make_template(scratch / "big", rss_inspections, photos[: rss_inspections * 3])
    measured.big_template = big
    measured.big = sync_once(big, scratch / "round", "ours-sync-big")
    shutil.rmtree(scratch / "floor", ignore_errors=True)
    measured.big_floor = floor_seconds(big.home, scratch / "floor")
    shutil.rmtree(scratch, ignore_errors=True)
    return report(settings, measured)


def report(settings: Settings, measured: Measured) -> tuple[list[Row], str]:
    template, big = measured.template, measured.big
    assert template is not None and big is not None and measured.big_template is not None
    rows = [
        Row(
            f"end-to-end sync, {settings.inspections} inspections × 3 photos",
            "lantian-field sync",
            [run.seconds for run in measured.sync],
            "floor: hash + write + fsync",
            measured.floor,
            "s",
            2.0,
            higher_is_better=False,
            digits=2,
        ),
        Row(
            f"lantian-field peak RSS, syncing {big.photos_sent:,} photos",
            "peak RSS",
            [big.peak_mib],
            "target",
            [100.0],
            "MiB",
            1.0,
            higher_is_better=False,
            digits=0,
        ),
    ]
    runs = "\n".join(
        f"| {n + 1} | {run.seconds:.2f} | {floor:.2f} | {run.peak_mib:.0f} |"
        for n, (run, floor) in enumerate(zip(measured.sync, measured.floor, strict=False))
    )
    notes = f"""
{settings.inspections} inspections × 3 photos ({template.photos} stored photos,
{template.photo_bytes / 1e6:.1f} MB, 2000×1500 JPEGs as the client stores them), from a
fresh copy of the field client to a fresh copy of the server (SQLite, gunicorn with the
production settings, loopback), {settings.rounds} rounds alternating with the floor:

| round | sync s | floor s | peak RSS MiB |
|---|---|---|---|
{runs}

The 1,000-photo run: {big.synced} inspections, {big.photos_sent} photos
({measured.big_template.photo_bytes / 1e6:.1f} MB) in {big.seconds:.2f} s (floor
{measured.big_floor:.2f} s), peak RSS of `lantian-field` {big.peak_mib:.0f} MiB.
"""
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer photos, for development")
    args = parser.parse_args()
    settings = Settings.quick() if args.quick else Settings()
    rows, notes = run(settings, OUT / "sync")
    from bench.results import table

    print(table(rows))
    print(notes)


if __name__ == "__main__":
    main()
