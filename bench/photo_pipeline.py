"""Photo pipeline: our import against a plain Pillow pipeline and against its floor.

Run alone: `.venv/bin/python -m bench.photo_pipeline [--rounds 7]` (or `make bench`).
Makes a 12-megapixel camera JPEG (4000×3000, noisy, quality 92, EXIF orientation 6 and
GPS) and times, alternating in each round:
- ours: `field_client.photos.process_photo` (draft decode, upright, 2000 px, JPEG q82);
- plain: Image.open + exif_transpose + thumbnail(2000) + save JPEG q82 (a full decode);
- floor: draft-mode decode alone, and draft decode + JPEG encode of the result.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import Row, table
from field_client.photos import process_photo

OURS = "ours (process_photo)"
PLAIN = "plain (open + exif_transpose + thumbnail + save)"
FLOOR = "floor: draft decode + JPEG encode"


def camera_jpeg(path: Path) -> Path:
    size = (4000, 3000)
    image = Image.blend(
        Image.new("RGB", size, (90, 120, 60)), Image.effect_noise(size, 40).convert("RGB"), 0.3
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[36867] = "2026:11:20 10:15:00"
    exif.get_ifd(0x8825).update(
        {
            1: "N",
            2: (Fraction(39), Fraction(19), Fraction(54)),
            3: "E",
            4: (Fraction(112), Fraction(25), Fraction(58)),
        }
    )
    image.save(path, format="JPEG", quality=92, exif=exif.tobytes())
    return path


def plain(path: Path) -> bytes:
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((2000, 2000))
        buffer = io.BytesIO()
        upright.save(buffer, format="JPEG", quality=82)
        return buffer.getvalue()


def draft_decode(path: Path) -> Image.Image:
    image = Image.open(path)
    image.draft("RGB", (2000, 1500))
    image.load()
    return image


def draft_and_encode(path: Path) -> bytes:
    buffer = io.BytesIO()
    draft_decode(path).save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()


def timed(function: Callable[[Path], object], path: Path) -> float:
    started = time.perf_counter()
    function(path)
    return (time.perf_counter() - started) * 1000


def run(rounds: int = 7) -> tuple[list[Row], str]:
    """Time every pipeline `rounds` times, alternating; returns table rows and notes."""
    candidates: dict[str, Callable[[Path], object]] = {
        OURS: process_photo,
        PLAIN: plain,
        "floor: draft decode": draft_decode,
        FLOOR: draft_and_encode,
    }
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    with tempfile.TemporaryDirectory() as scratch:
        path = camera_jpeg(Path(scratch) / "camera.jpg")
        for function in candidates.values():  # warm up: imports, caches
            function(path)
        for _ in range(rounds):
            for name, function in candidates.items():
                samples[name].append(timed(function, path))
    per_second = {name: [1000 / ms for ms in values] for name, values in samples.items()}
    rows = [
        Row(
            "photo import, 12 MP camera JPEG → 2000 px (one core)",
            "ours",
            per_second[OURS],
            "plain Pillow pipeline",
            per_second[PLAIN],
            "photos/s",
            3.0,
            digits=1,
        ),
        Row(
            "photo import against its floor (draft decode + JPEG encode)",
            "ours",
            samples[OURS],
            "floor",
            samples[FLOOR],
            "ms/photo",
            1.3,
            higher_is_better=False,
            digits=1,
        ),
    ]
    median = {name: statistics.median(values) for name, values in samples.items()}
    lines = "\n".join(
        f"| {name} | {median[name]:.1f} | {min(values):.1f}–{max(values):.1f} | "
        f"{1000 / median[name]:.1f} |"
        for name, values in samples.items()
    )
    notes = f"""
`bench/photo_pipeline.py`, {rounds} rounds alternating, one 12-megapixel JPEG
(4000×3000, noisy, q92, EXIF orientation 6 + GPS); single process, so photos/s is per core.

| pipeline | median ms/photo | min–max | photos/s per core |
|---|---|---|---|
{lines}
"""
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rows, notes = run(args.rounds)
    print(table(rows))
    print(notes)


if __name__ == "__main__":
    main()
