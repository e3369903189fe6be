"""Making inspections with the real `lantian-field` command for end-to-end tests."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from tests.e2e.conftest import Field
from tests.helpers import PASSWORD


def camera_photo(path: Path, seed: int, size: tuple[int, int] = (1600, 1200)) -> Path:
    """A distinct JPEG (noise over a colour) so every photo has its own hash."""
    rng = random.Random(seed)
    base = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    noise = Image.effect_noise(size, 40).convert("RGB")
    Image.blend(base, noise, 0.3).save(path, format="JPEG", quality=90)
    return path


def login(field: Field, server_url: str, username: str = "insp") -> None:
    field.run("login", "--server", server_url, "--user", username, "--password", PASSWORD)


def noise_photo(path: Path, seed: int) -> Path:
    """A photo of pure noise at the stored size (2000 px): it stays over 1 MB as stored, so
    the field client sends it by tus, not whole."""
    rng = random.Random(seed)
    Image.frombytes("RGB", (2000, 1500), rng.randbytes(2000 * 1500 * 3)).save(
        path, format="JPEG", quality=95
    )
    return path


def boiler_inspection(
    field: Field,
    site_id: int,
    photo_dir: Path,
    seed: int,
    make_photo: Callable[[Path, int], Path] = camera_photo,
) -> str:
    """A complete coal-and-boilers inspection with two failed items and three photos.

    Captured in-process (the real command code, without a new interpreter per command),
    since only the syncs under test need to be separate processes that can be killed.
    """
    field = field.in_process()
    uuid = field.json("new", "--site", str(site_id), "--checklist", "coal-and-boilers")["id"]
    first = make_photo(photo_dir / f"boiler-{seed}-a.jpg", seed * 10 + 1)
    second = make_photo(photo_dir / f"boiler-{seed}-b.jpg", seed * 10 + 2)
    third = make_photo(photo_dir / f"boiler-{seed}-c.jpg", seed * 10 + 3)
    for item, value in (
        ("CB-01", "outside"),
        ("CB-04", "no"),
        ("CB-09", "yes"),
        ("CB-12", "no"),
        ("CB-14", "no"),
        ("CB-19", "none"),
    ):
        field.run("answer", uuid, item, value)
    verdict = field.json(
        "answer", uuid, "CB-10", "20", "--note", "铭牌20蒸吨", "--photo", str(first)
    )
    assert verdict["verdict"] == "non_compliant"  # judged on the device, offline
    field.run("answer", uuid, "CB-18", "non_compliant", "--photo", str(second))
    field.run("photo", uuid, "CB-18", str(third))
    field.run("finish", uuid)
    return uuid


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
