"""Photos in S3-compatible object storage (AWS S3, MinIO, Ceph RGW, OSS/COS in S3 mode).

Keys, under an optional prefix shared by one deployment:

    <prefix>photos/<sha256>                      one object per photo, written once
    <prefix>partials/<upload_id>/<offset:020d>   one object per appended tus chunk

Why one object per chunk: S3 objects cannot be appended to, and multipart uploads need
parts of at least 5 MiB while the field client sends 16-256 KiB chunks over bad links. A
chunk is stored under the offset it starts at, and the held bytes are the chain of chunks
that starts at 0 and where each one begins where the previous one ends. The write is
conditional (`If-None-Match: *`), so of two requests that both saw the upload end at
offset N only one can create the chunk at N; the other gets OffsetMismatch with the new
end, exactly as the local store's file lock gives. S3 listings are strongly consistent
(AWS since December 2020, MinIO always), so a chunk written is a chunk listed.

Photos are written with the same condition after a HEAD: the HEAD answers the common
"already there" case cheaply, the condition settles two uploads of one photo racing.

Credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
AWS_PROFILE, an instance or pod role), never from our own settings.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.storage.base import (
    SHA256_HEX,
    OffsetMismatch,
    PhotoStore,
    check_hash,
    check_upload_id,
)

_MISSING = {"404", "NoSuchKey", "NotFound"}
# 412: the object exists; 409: another conditional write to the same key is in flight.
_TAKEN = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def normalize_prefix(prefix: str | None) -> str:
    """'' or 'lantian/': one deployment's keys sit under one folder-like prefix."""
    prefix = (prefix or "").strip().strip("/")
    return f"{prefix}/" if prefix else ""


class S3PhotoStore(PhotoStore):
    """The photo store in a bucket; safe to share between threads, workers and machines."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3 存储需要桶名 / the S3 photo store needs a bucket name")
        self.bucket = bucket
        self.prefix = normalize_prefix(prefix)
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        # A custom endpoint (MinIO, a private cloud) rarely has wildcard DNS for
        # bucket.host, so path-style addressing is the default there.
        self.addressing_style = addressing_style or ("path" if endpoint_url else "auto")
        self._lock = threading.Lock()
        self._client: Any = None
        self._client_pid: int | None = None

    @property
    def client(self) -> Any:
        """A boto3 client made in this process: connection pools must not cross a fork."""
        pid = os.getpid()
        if self._client is None or self._client_pid != pid:
            with self._lock:
                if self._client is None or self._client_pid != pid:
                    # A Session of our own: boto3's default session is not thread-safe.
                    session = boto3.session.Session()
                    self._client = session.client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        config=Config(
                            connect_timeout=5,
                            read_timeout=60,
                            retries={"mode": "standard", "max_attempts": 5},
                            s3={"addressing_style": self.addressing_style},
                        ),
                    )
                    self._client_pid = pid
        return self._client

    def __repr__(self) -> str:
        where = self.endpoint_url or "aws"
        return f"S3PhotoStore(s3://{self.bucket}/{self.prefix} at {where})"

    # Photos

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}photos/{check_hash(sha256)}"

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise

    def exists(self, sha256: str) -> bool:
        return self._head(self._key(sha256)) is not None

    def size(self, sha256: str) -> int | None:
        head = self._head(self._key(sha256))
        return None if head is None else int(head["ContentLength"])

    def put(self, sha256: str, data: bytes) -> bool:
        key = self._key(sha256)
        if self._head(key) is not None:
            return False
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
        except ClientError as error:
            if _code(error) not in _TAKEN:
                raise
            # Another upload of the same photo won the race; same hash, same bytes.
            if self._head(key) is None:
                raise
            return False
        return True

    def get(self, sha256: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as error:
            if _code(error) in _MISSING:
                raise KeyError(sha256) from None
            raise
        return response["Body"].read()

    def delete(self, sha256: str) -> None:
        # DeleteObject of an absent key succeeds: deleting twice is harmless.
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def _keys(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def iter_hashes(self) -> Iterator[str]:
        start = f"{self.prefix}photos/"
        for item in self._keys(start):  # listed in key order, i.e. sorted by hash
            name = item["Key"][len(start) :]
            if SHA256_HEX.match(name):
                yield name

    def health(self) -> str:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            return f"error: bucket {self.bucket}: {_code(error) or 'unavailable'}"
        except BotoCoreError as error:
            return f"error: {type(error).__name__}"
        return "ok"

    # Resumable uploads: one object per chunk, keyed by the offset it starts at.

    def _partial_prefix(self, upload_id: str) -> str:
        return f"{self.prefix}partials/{check_upload_id(upload_id)}/"

    def _chain(self, upload_id: str) -> tuple[list[str], int]:
        """The keys of the chunks that make up the held bytes, in order, and their total.

        The chain starts at offset 0 and each chunk begins where the previous one ends; a
        stray object off the chain (a write that lost a race with a drop) is ignored.
        """
        start = self._partial_prefix(upload_id)
        chunks: dict[int, tuple[int, str]] = {}
        for item in self._keys(start):
            name = item["Key"][len(start) :]
            if name.isdigit():
                chunks[int(name)] = (int(item["Size"]), item["Key"])
        keys: list[str] = []
        held = 0
        while held in chunks and chunks[held][0] > 0:
            size, key = chunks[held]
            keys.append(key)
            held += size
        return keys, held

    def partial_size(self, upload_id: str) -> int:
        return self._chain(upload_id)[1]

    def append_partial(self, upload_id: str, offset: int, data: bytes) -> int:
        held = self.partial_size(upload_id)
        if held != offset:
            raise OffsetMismatch(held)
        if not data:
            return held  # an empty object would block the chain at this offset forever
        key = f"{self._partial_prefix(upload_id)}{offset:020d}"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
        except ClientError as error:
            if _code(error) in _TAKEN:
                # Another request appended at this offset first: tell where it ended.
                raise OffsetMismatch(self.partial_size(upload_id)) from None
            raise
        return offset + len(data)

    def read_partial(self, upload_id: str) -> bytes:
        keys, _ = self._chain(upload_id)
        return b"".join(
            self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read() for key in keys
        )

    def drop_partial(self, upload_id: str) -> None:
        keys = [{"Key": item["Key"]} for item in self._keys(self._partial_prefix(upload_id))]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
            )
