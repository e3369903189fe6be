"""The photo blob store interface: content-addressed, write-once, safe to retry."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class PhotoStore(ABC):
    """Stores bytes under their SHA-256; every backend passes tests/server/test_storage.py.

    `put` is idempotent: storing the same hash twice keeps one copy and reports that it
    already existed. Callers verify the hash before `put`; the store trusts its caller.
    """

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """True when the blob is stored completely."""

    @abstractmethod
    def size(self, sha256: str) -> int | None:
        """The stored size in bytes, or None when absent."""

    @abstractmethod
    def put(self, sha256: str, data: bytes) -> bool:
        """Store the bytes; True when newly stored, False when they were already there."""

    @abstractmethod
    def get(self, sha256: str) -> bytes:
        """The stored bytes; KeyError when absent."""

    @abstractmethod
    def delete(self, sha256: str) -> None:
        """Remove a blob (backups and tests only: evidence is never deleted in service)."""

    @abstractmethod
    def iter_hashes(self) -> Iterator[str]:
        """Every stored hash, for audits and backups."""

    @abstractmethod
    def health(self) -> str:
        """ "ok" when the store can take writes now, else a short reason starting "error".

        For readiness checks: the store knows best what "reachable" means for it (a
        writable directory, a bucket that answers), and an S3 deployment has no photo
        directory a check could look at.
        """

    # Resumable uploads (tus): an unfinished upload's bytes, kept under its upload id.

    @abstractmethod
    def partial_size(self, upload_id: str) -> int:
        """How many bytes of an unfinished upload are held (0 when none)."""

    @abstractmethod
    def append_partial(self, upload_id: str, offset: int, data: bytes) -> int:
        """Append at `offset`, which must equal the bytes held; returns the new size.

        Raises OffsetMismatch when `offset` is not where the partial ends.
        """

    def append_partial_stream(self, upload_id: str, offset: int, blocks: Iterable[bytes]) -> int:
        """Append a request body at `offset` as it arrives, block by block; returns the new
        size. When `blocks` ends early (the client's connection was cut), whatever arrived
        is kept, so the client resumes from there instead of sending it again.

        This default gathers the blocks and appends them once (a store that cannot append,
        like S3, writes one chunk object); a store that can append writes each block as it
        comes. Raises OffsetMismatch, before taking any byte, when `offset` is not the end.
        """
        held = self.partial_size(upload_id)
        if held != offset:
            raise OffsetMismatch(held)
        data = b"".join(blocks)
        return self.append_partial(upload_id, offset, data) if data else held

    @abstractmethod
    def read_partial(self, upload_id: str) -> bytes:
        """The bytes of an unfinished upload."""

    @abstractmethod
    def drop_partial(self, upload_id: str) -> None:
        """Forget an unfinished upload (when complete, or refused)."""


class OffsetMismatch(Exception):
    """A chunk does not start where the held bytes end; `held` says where they do."""

    def __init__(self, held: int) -> None:
        super().__init__(f"upload holds {held} bytes")
        self.held = held


def check_hash(sha256: str) -> str:
    """Refuse anything but a lowercase SHA-256 hex digest, so it can never form a path."""
    if not SHA256_HEX.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256[:80]!r}")
    return sha256


def check_upload_id(upload_id: str) -> str:
    """Upload ids are server-made random tokens; anything else can never form a path."""
    if not UPLOAD_ID.match(upload_id):
        raise ValueError(f"not an upload id: {upload_id[:80]!r}")
    return upload_id
