"""End-to-end sync: 100 inspections × 3 photos from a fresh field client to a fresh server.

Run: `.venv/bin/python bench/sync_e2e.py [--inspections 100]`. Loopback only, bounded.
Reports the wall time of `lantian-field sync`, the floor (the same bytes hashed and
written with fsync), the ratio, and the peak RSS of the lantian-field process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import write_section

BIN = Path(sys.executable).parent
DEMO_USER, DEMO_PASSWORD = "inspector1", "lantian-field-2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def camera_photo(path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    size = (4000, 3000)
    base = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise(size, 30).convert("RGB")
    Image.blend(base, noise, 0.3).save(path, format="JPEG", quality=92)
    return path


def start_server(data: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    port = free_port()
    env = {**os.environ, "LANTIAN_DATA_DIR": str(data), "LANTIAN_SECRET_KEY": "bench"}
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [str(BIN / "lantian-server"), *args], env=env, check=True, capture_output=True
        )
    server = subprocess.Popen(
        [str(BIN / "lantian-server"), "run", "--port", str(port), "--no-reload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url, env
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("server did not start")


def field(home: Path, *args: str) -> dict:
    env = {**os.environ, "LANTIAN_FIELD_HOME": str(home)}
    result = subprocess.run(
        [str(BIN / "lantian-field"), "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout) if result.stdout.strip() else {}


def capture(home: Path, count: int, photos: list[Path]) -> None:
    """Make `count` complete inspections, 3 photos each, with the real client code."""
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
        three = photos[(number * 3) % len(photos) :][:3]
        cap.attach_photos(store, uuid, "CB-18", three)
        cap.answer(store, uuid, "CB-18", "non_compliant")
        cap.finish(store, uuid)
    store.close()


def watch_peak_rss(process: subprocess.Popen) -> int:
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
    """The same bytes the sync sends, hashed and written with fsync: what the disk allows."""
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inspections", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        server, url, _ = start_server(root / "server")
        try:
            home = root / "field"
            field(home, "login", "--server", url, "--user", DEMO_USER, "--password", DEMO_PASSWORD)
            field(home, "pull")
            # Distinct 12-megapixel camera photos; each inspection gets three of them.
            count = args.inspections
            sources = [camera_photo(root / f"cam{i}.jpg", i) for i in range(count * 3)]
            capture(home, count, sources)
            env = {**os.environ, "LANTIAN_FIELD_HOME": str(home)}
            started = time.perf_counter()
            sync = subprocess.Popen(
                [str(BIN / "lantian-field"), "--json", "sync"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            peak_kib = watch_peak_rss(sync)
            stdout, stderr = sync.communicate()
            seconds = time.perf_counter() - started
            if sync.returncode != 0:
                raise SystemExit(f"sync failed: {stdout} {stderr}")
            report = json.loads(stdout)
            floor = floor_seconds(home, root / "floor")
            sent = sum(p.stat().st_size for p in (home / "photos").glob("*/*.jpg"))
        finally:
            server.terminate()
            server.wait(timeout=10)
    table = f"""
`bench/sync_e2e.py`: {count} inspections × 3 photos (12 MP camera JPEGs, stored by the
client at 2000 px), from a fresh field client to a fresh server (`lantian-server run`,
SQLite, loopback).

| measure | value |
|---|---|
| inspections synced | {len(report["synced"])} |
| photos sent | {report["photos_sent"]} ({sent / 1e6:.1f} MB) |
| `lantian-field sync` wall time | {seconds:.2f} s |
| floor: same bytes hashed + written with fsync | {floor:.2f} s |
| ratio sync / floor | {seconds / floor:.1f}× |
| peak RSS of the lantian-field sync process | {peak_kib / 1024:.0f} MB |
"""
    print(table)
    write_section("End-to-end sync", table)


if __name__ == "__main__":
    main()
