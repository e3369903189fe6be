"""The photo store contract; every backend runs these (the local directory for now)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.storage import LocalPhotoStore, PhotoStore
from tests.helpers import sha256


@pytest.fixture(params=["local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> PhotoStore:
    return LocalPhotoStore(tmp_path / "photos")


def test_put_get_exists_size(store: PhotoStore) -> None:
    data = b"\xff\xd8 some bytes"
    name = sha256(data)
    assert not store.exists(name) and store.size(name) is None
    assert store.put(name, data) is True
    assert store.exists(name) and store.size(name) == len(data)
    assert store.get(name) == data
    assert store.put(name, data) is False  # idempotent
    assert list(store.iter_hashes()) == [name]


def test_missing_blob_is_a_key_error(store: PhotoStore) -> None:
    with pytest.raises(KeyError):
        store.get("0" * 64)


def test_names_that_are_not_hashes_are_refused(store: PhotoStore) -> None:
    for name in ("../escape", "0" * 63, "G" * 64, "/" + "0" * 63):
        with pytest.raises(ValueError):
            store.exists(name)


def test_delete(store: PhotoStore) -> None:
    name = sha256(b"x")
    store.put(name, b"x")
    store.delete(name)
    assert not store.exists(name)
    store.delete(name)  # deleting twice is harmless


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    store.put(sha256(b"abc"), b"abc")
    assert [p.name for p in tmp_path.rglob(".upload-*")] == []


def test_partial_uploads_append_at_the_held_offset(store: PhotoStore) -> None:
    from server.storage import OffsetMismatch

    name = "upload-id-0123456789"
    assert store.partial_size(name) == 0
    assert store.append_partial(name, 0, b"abc") == 3
    with pytest.raises(OffsetMismatch) as mismatch:
        store.append_partial(name, 1, b"zz")
    assert mismatch.value.held == 3
    assert store.append_partial(name, 3, b"def") == 6
    assert store.read_partial(name) == b"abcdef"
    store.drop_partial(name)
    assert store.partial_size(name) == 0 and store.read_partial(name) == b""


def test_upload_ids_that_could_be_paths_are_refused(store: PhotoStore) -> None:
    for name in ("../../etc/passwd", "short", "a/b" * 10):
        with pytest.raises(ValueError):
            store.partial_size(name)
