"""Photos in a local directory, fanned out by the first two bytes of the hash."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from server.storage.base import OffsetMismatch, PhotoStore, check_hash, check_upload_id


class LocalPhotoStore(PhotoStore):
    """Writes go to a temporary file, are fsynced, then renamed: a crash leaves no half photo."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        check_hash(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        path = self._path(sha256)
        return path.stat().st_size if path.is_file() else None

    def put(self, sha256: str, data: bytes) -> bool:
        path = self._path(sha256)
        if path.is_file():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return True

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        if not path.is_file():
            raise KeyError(sha256)
        return path.read_bytes()

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def iter_hashes(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/??/*")):
            if not path.name.startswith("."):
                yield path.name

    def health(self) -> str:
        return "ok" if os.access(self.root, os.W_OK) else "error: not writable"

    def _partial(self, upload_id: str) -> Path:
        return self.root / ".partial" / check_upload_id(upload_id)

    def partial_size(self, upload_id: str) -> int:
        path = self._partial(upload_id)
        return path.stat().st_size if path.is_file() else 0

    def append_partial(self, upload_id: str, offset: int, data: bytes) -> int:
        path = self._partial(upload_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            # One writer per partial at a time, across threads and worker processes.
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            held = os.fstat(handle.fileno()).st_size
            if held != offset:
                raise OffsetMismatch(held)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            return held + len(data)

    def append_partial_stream(self, upload_id: str, offset: int, blocks: Iterable[bytes]) -> int:
        """Each block goes to the partial file as it arrives, under the file's lock; one
        fsync at the end, also when the body was cut off, so what arrived is kept."""
        path = self._partial(upload_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            held = os.fstat(handle.fileno()).st_size
            if held != offset:
                raise OffsetMismatch(held)
            try:
                for block in blocks:
                    handle.write(block)
                    held += len(block)
            finally:
                handle.flush()
                os.fsync(handle.fileno())
            return held

    def read_partial(self, upload_id: str) -> bytes:
        path = self._partial(upload_id)
        return path.read_bytes() if path.is_file() else b""

    def drop_partial(self, upload_id: str) -> None:
        self._partial(upload_id).unlink(missing_ok=True)
