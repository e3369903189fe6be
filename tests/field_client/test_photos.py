"""The photo pipeline on real camera and phone photos: facts kept, upright, right-sized,
bad files refused with a clear message."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from evidence.exif import GPS_IFD, read_facts
from field_client.photos import PhotoError, Watermark, open_for_processing, process_photo
from tests.helpers import PHOTOS

CHINA = timezone(timedelta(hours=8))


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def camera_jpeg(path: Path, orientation: int = 6) -> Path:
    """A 12-megapixel noisy camera JPEG with an orientation and GPS, like a phone makes."""
    size = (4000, 3000)
    image = Image.blend(
        Image.new("RGB", size, (90, 120, 60)), Image.effect_noise(size, 40).convert("RGB"), 0.3
    )
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[36867] = "2026:11:20 10:15:00"
    gps = exif.get_ifd(GPS_IFD)
    gps.update(
        {
            1: "N",
            2: (Fraction(39), Fraction(19), Fraction(5412, 100)),
            3: "E",
            4: (Fraction(112), Fraction(25), Fraction(5844, 100)),
        }
    )
    image.save(path, format="JPEG", quality=92, exif=exif.tobytes())
    return path


def test_gps_and_capture_time_survive_the_pipeline() -> None:
    photo = process_photo(PHOTOS / "DSCN0010.jpg")
    assert photo.taken_at == datetime(2008, 10, 22, 16, 28, 39, tzinfo=CHINA)
    assert photo.lat == pytest.approx(43.4674, abs=1e-3)
    assert photo.lon == pytest.approx(11.8851, abs=1e-3)
    back = read_facts(opened(photo.data))
    assert (back.taken_at, back.lat, back.lon) == (photo.taken_at, photo.lat, photo.lon)
    assert opened(photo.data).format == "JPEG"
    assert photo.original_sha256 != photo.sha256 and photo.size == len(photo.data)


def small_grey(image: Image.Image) -> Image.Image:
    return image.convert("L").resize((24, 18))


@pytest.mark.parametrize("name", ["landscape_3", "landscape_6", "landscape_8"])
def test_every_orientation_ends_upright(name: str) -> None:
    reference = opened(process_photo(PHOTOS / "landscape_1.jpg").data)
    turned = opened(process_photo(PHOTOS / f"{name}.jpg").data)
    assert turned.size == reference.size == (600, 450)
    assert turned.getexif().get(0x0112) == 1
    same = ImageStat.Stat(ImageChops.difference(small_grey(reference), small_grey(turned)))
    upside_down = ImageStat.Stat(
        ImageChops.difference(small_grey(reference), small_grey(turned.rotate(180)))
    )
    # The same scene the same way up: far closer than the scene turned upside down.
    assert same.mean[0] < 20 and same.mean[0] * 3 < upside_down.mean[0]


def test_transposed_portrait_is_upright_too() -> None:
    reference = opened(process_photo(PHOTOS / "portrait_1.jpg").data)
    turned = opened(process_photo(PHOTOS / "portrait_5.jpg").data)
    assert turned.size == reference.size == (450, 600)


def test_twelve_megapixels_are_decoded_in_draft_mode_and_scaled(tmp_path: Path) -> None:
    source = camera_jpeg(tmp_path / "camera.jpg", orientation=6)
    image = open_for_processing(source.read_bytes(), 2000)
    assert image.size == (2000, 1500)  # the decoder was asked for half scale: never 4000×3000
    photo = process_photo(source)
    assert (photo.width, photo.height) == (1500, 2000)  # turned upright (orientation 6)
    assert photo.lat == pytest.approx(39.3317, abs=1e-4)
    assert photo.lon == pytest.approx(112.4329, abs=1e-4)
    assert photo.taken_at == datetime(2026, 11, 20, 10, 15, tzinfo=CHINA)
    assert read_facts(opened(photo.data)).lat == photo.lat


def test_small_photos_are_never_upscaled() -> None:
    photo = process_photo(PHOTOS / "no_exif.jpg")
    assert (photo.width, photo.height) == (322, 466)
    assert photo.taken_at is None and photo.lat is None


def test_iphone_heic_is_stored_as_jpeg() -> None:
    photo = process_photo(PHOTOS / "IMG_5195.HEIC")
    assert photo.source_format == "HEIF"
    assert opened(photo.data).format == "JPEG"
    assert max(photo.width, photo.height) == 2000
    assert photo.lat == pytest.approx(39.0513, abs=1e-3)
    assert photo.taken_at is not None and photo.taken_at.utcoffset() == timedelta(hours=-5)


def test_broken_exif_still_gives_a_photo() -> None:
    photo = process_photo(PHOTOS / "broken_exif.jpg")
    assert photo.width > 0 and photo.taken_at is None


def test_watermark_marks_only_the_bottom_strip() -> None:
    plain = opened(process_photo(PHOTOS / "landscape_1.jpg").data)
    marked = opened(
        process_photo(
            PHOTOS / "landscape_1.jpg",
            watermark=Watermark(
                ("2026-11-20 10:15 +08:00", "39.33186N 112.43290E", "SZ-B-01 inspector1")
            ),
        ).data
    )
    top = (0, 0, 600, 300)
    bottom = (0, 420, 600, 450)
    assert (
        abs(ImageStat.Stat(plain.crop(top)).mean[0] - ImageStat.Stat(marked.crop(top)).mean[0]) < 2
    )
    assert (
        ImageStat.Stat(marked.crop(bottom).convert("L")).mean[0]
        < ImageStat.Stat(plain.crop(bottom).convert("L")).mean[0] - 20
    )


def bad_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.jpg"
    if kind == "text":
        path.write_text("这不是照片 / not a photo\n" * 50, encoding="utf-8")
    elif kind == "truncated":
        whole = (PHOTOS / "DSCN0010.jpg").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif kind == "bomb":
        path = tmp_path / "bomb.png"
        Image.new("L", (20_000, 20_000)).save(path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "gif":
        path = tmp_path / "anim.gif"
        Image.new("RGB", (50, 50)).save(path)
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("text", "not a recognisable image"),
        ("truncated", "not a recognisable image"),
        ("bomb", "decompression bomb"),
        ("missing", "not found"),
        ("empty", "empty"),
        ("directory", "not a file"),
        ("gif", "unsupported image format"),
    ],
)
def test_bad_files_are_refused_clearly(kind: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(PhotoError) as refused:
        process_photo(bad_file(kind, tmp_path))
    assert words in str(refused.value)
    assert " / " in str(refused.value)  # Chinese first, then English
