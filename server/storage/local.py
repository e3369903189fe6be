"""Photos in a local directory, fanned out by the first two bytes of the hash."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from server.storage.base import PhotoStore, check_hash


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
