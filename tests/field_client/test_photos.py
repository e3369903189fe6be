"""The photo pipeline on real camera and phone photos: facts kept, upright, right-sized,
bad files refused with a clear message."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from PIL.TiffImagePlugin import IFDRational

from evidence.exif import GPS_IFD, ExifFacts, read_facts
from field_client.photos import PhotoError, Watermark, open_for_processing, process_photo
from tests.helpers import PHOTOS

CHINA = timezone(timedelta(hours=8))
# How a camera stores an upright scene for each EXIF orientation (EXIF 2.3, tag 0x0112),
# written out here independently of the pipeline's own table.
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # the scene needs a quarter turn clockwise to show
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def exif_jpeg(
    gps: dict[int, object] | None = None, when: str | None = None, offset: str | None = None
) -> Image.Image:
    """A tiny JPEG with exactly the EXIF given, reopened as a camera file would be."""
    exif = Image.Exif()
    if when is not None:
        exif.get_ifd(0x8769)[36867] = when
    if offset is not None:
        exif.get_ifd(0x8769)[36881] = offset
    if gps is not None:
        exif.get_ifd(GPS_IFD).update(gps)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG", exif=exif.tobytes())
    return opened(buffer.getvalue())


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
    # A red block where the upright scene's top-left corner is stored for this orientation.
    marker = Image.new("RGB", (3000, 4000) if orientation >= 5 else size, (0, 0, 0))
    ImageDraw.Draw(marker).rectangle((0, 0, 400, 400), fill=(255, 0, 0))
    stored = STORED[orientation]
    if stored is not None:
        marker = marker.transpose(stored)
    mask = marker.convert("L").point(lambda v: 255 if v else 0)
    image.paste((255, 0, 0), mask=mask)
    image.save(path, format="JPEG", quality=92, exif=exif.tobytes())
    return path


def test_read_facts_on_the_original_gps_photo() -> None:
    facts = read_facts(Image.open(PHOTOS / "DSCN0010.jpg"))
    assert facts.lat == pytest.approx(43.4674, abs=1e-4)
    assert facts.lon == pytest.approx(11.8851, abs=1e-4)
    assert facts.taken_at == datetime(2008, 10, 22, 16, 28, 39, tzinfo=CHINA)
    assert facts.taken_at.isoformat() == "2008-10-22T16:28:39+08:00"


def test_read_facts_reads_offsets_and_southern_western_refs() -> None:
    facts = read_facts(
        exif_jpeg(
            {1: "S", 2: (33, 52, IFDRational(1080, 100)), 3: "W", 4: (151, 12, 30)},
            when="2026:11:20 10:15:00",
            offset="+0530",
        )
    )
    assert facts.lat == pytest.approx(-33.8697, abs=1e-4)
    assert facts.lon == pytest.approx(-151.2083, abs=1e-4)
    assert facts.taken_at is not None
    assert facts.taken_at.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("gps", "when", "offset"),
    [
        ({1: "N", 2: (IFDRational(1, 0), 0, 0), 3: "E", 4: (1, 2, 3)}, "0000:00:00 00:00:00", None),
        ({1: "N", 2: (91, 0, 0), 3: "E", 4: (1, 2, 3)}, "2026:13:40 10:15:00", None),
        ({1: "N", 2: (45, 0), 3: "E", 4: (1, 2, 3)}, "yesterday", "+08:00"),
        ({1: "N", 2: (0, 0, 0), 3: "E", 4: (0, 0, 0)}, "", "junk"),
        ({1: "N", 2: (39, 19, 54)}, None, None),
    ],
    ids=["zero-denominator", "out-of-range", "two-parts", "no-fix-zeros", "no-longitude"],
)
def test_read_facts_gives_none_for_malformed_exif(
    gps: dict[int, object], when: str | None, offset: str | None
) -> None:
    assert read_facts(exif_jpeg(gps, when, offset)) == ExifFacts(None, None, None)


def test_a_bad_offset_falls_back_to_china_time() -> None:
    facts = read_facts(exif_jpeg(when="2026:11:20 10:15:00", offset="junk"))
    assert facts.taken_at is not None and facts.taken_at.utcoffset() == timedelta(hours=8)


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
    same = ImageStat.Stat(ImageChops.difference(small_grey(reference), small_grey(turned)))
    mirrored = ImageStat.Stat(
        ImageChops.difference(
            small_grey(reference), small_grey(turned.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
        )
    )
    assert same.mean[0] < 20 and same.mean[0] * 1.5 < mirrored.mean[0]


def corner(image: Image.Image) -> tuple[float, ...]:
    """Mean colour of the top-left tenth: where the scene's top-left must end up."""
    box = (0, 0, image.width // 10, image.height // 10)
    return tuple(ImageStat.Stat(image.crop(box)).mean)


@pytest.mark.parametrize("name", ["landscape_1", "portrait_1"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_eight_orientations_end_upright(name: str, orientation: int, tmp_path: Path) -> None:
    """The scene stored the way a camera does for each orientation comes back as it was."""
    scene = Image.open(PHOTOS / f"{name}.jpg").convert("RGB")
    # A marker the photo itself lacks: a red top-left corner, a blue top-right.
    ImageDraw.Draw(scene).rectangle((0, 0, 59, 59), fill=(255, 0, 0))
    ImageDraw.Draw(scene).rectangle((scene.width - 60, 0, scene.width - 1, 59), fill=(0, 0, 255))
    stored, turn = scene, STORED[orientation]
    if turn is not None:
        stored = scene.transpose(turn)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"{name}_{orientation}.jpg"
    stored.save(path, format="JPEG", quality=95, exif=exif.tobytes())

    result = opened(process_photo(path).data)
    assert result.size == scene.size
    red, blue = result.getpixel((20, 20)), result.getpixel((result.width - 20, 20))
    assert red[0] > 200 and red[2] < 60, red
    assert blue[2] > 200 and blue[0] < 60, blue
    difference = ImageStat.Stat(ImageChops.difference(small_grey(scene), small_grey(result)))
    assert difference.mean[0] < 3


def test_twelve_megapixels_are_decoded_in_draft_mode_and_scaled(tmp_path: Path) -> None:
    source = camera_jpeg(tmp_path / "camera.jpg", orientation=6)
    image = open_for_processing(source.read_bytes(), 2000)
    assert image.size == (2000, 1500)  # the decoder was asked for half scale: never 4000×3000
    assert image.mode == "RGB"
    photo = process_photo(source)
    assert (photo.width, photo.height) == (1500, 2000)  # turned upright (orientation 6)
    red = corner(opened(photo.data))
    assert red[0] > 200 and red[1] < 80, red  # the scene's top-left corner is top-left
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
    marked_photo = process_photo(
        PHOTOS / "landscape_1.jpg",
        watermark=Watermark(
            ["2026-11-20 10:15 +08:00", "39.33186N 112.43290E", "SZ-B-01 inspector1"]
        ),
    )
    marked = opened(marked_photo.data)
    assert marked.size == plain.size == (600, 450)
    changed = ImageChops.difference(plain, marked).convert("L").point(lambda v: 255 if v > 8 else 0)
    box = changed.getbbox()
    assert box is not None
    # Three lines of 14 px text: a strip of about 68 px at the bottom; allow one JPEG block
    # (16 px with chroma subsampling) above it for re-encoding ripple, nothing higher.
    assert box[1] >= 450 - 68 - 16 and box[3] == 450
    bottom = (0, 420, 600, 450)
    assert (
        ImageStat.Stat(marked.crop(bottom).convert("L")).mean[0]
        < ImageStat.Stat(plain.crop(bottom).convert("L")).mean[0] - 20
    )
    assert read_facts(marked).taken_at == marked_photo.taken_at


def bad_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.jpg"
    if kind == "text":
        path.write_text("这不是照片 / not a photo\n" * 50, encoding="utf-8")
    elif kind == "truncated":
        whole = (PHOTOS / "DSCN0010.jpg").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif kind == "bomb":
        path = tmp_path / "bomb.png"  # 400 megapixels of one colour: a few hundred kB
        Image.new("L", (20_000, 20_000)).save(path)
    elif kind == "64mp":
        path = tmp_path / "huge.png"  # under Pillow's own bomb limit, over ours (60 MP)
        Image.new("L", (8_000, 8_000)).save(path)
    elif kind == "huge-file":
        with path.open("wb") as sparse:
            sparse.truncate(61 * 1024 * 1024)
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
        ("64mp", "decompression bomb"),
        ("huge-file", "larger than 60 MB"),
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
    message = str(refused.value)
    assert " / " in message and not message[0].isascii()  # Chinese first, then English
