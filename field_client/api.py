"""The sync API as the device sees it: httpx with timeouts, tenacity retries with backoff.

Connection errors, timeouts, 429 and 5xx are retried with exponential backoff and jitter,
honouring Retry-After; any other 4xx is the server's considered answer and is shown to the
user, never retried.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from field_client.errors import FieldError, NotLoggedIn, ServerRefused

T = TypeVar("T")
CHUNK_BYTES = 256 * 1024
MIN_CHUNK_BYTES = 16 * 1024
SMALL_PHOTO_BYTES = 128 * 1024  # always sent whole with PUT: too small to be worth resuming
# Photos up to this size (every photo the client stores, in practice) are also sent whole
# while the link holds: one request instead of tus's create and chunks, each of which costs
# the server a request and an fsync. Once a whole upload is cut off, this client sends
# everything above SMALL_PHOTO_BYTES by tus, resuming from the byte the server holds.
WHOLE_PHOTO_BYTES = 1024 * 1024
# Hashes per "which of these do you lack" question (the server takes up to 1000).
QUESTION_HASHES = 500
TUS = {"Tus-Resumable": "1.0.0"}
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
# The server's machine codes (README "Error codes") the client acts on.
WRONG_PASSWORD = "auth.bad_credentials"
LOG_IN_AGAIN = {"auth.required", "auth.token_invalid", "auth.token_expired"}
ACCOUNT_DISABLED = "auth.account_disabled"
OFFSET_CONFLICT = "upload.offset_conflict"


class Retryable(Exception):
    """A transient server answer (429, 5xx), with the delay it asked for."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"server answered {status}")
        self.status = status
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return min(float(value), 60.0) if value else None
    except ValueError:
        return None


def _transient(error: BaseException) -> bool:
    return isinstance(error, httpx.TransportError | Retryable)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base: float = 0.5
    cap: float = 20.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            attempts=int(os.environ.get("LANTIAN_FIELD_RETRY_ATTEMPTS", cls.attempts)),
            base=float(os.environ.get("LANTIAN_FIELD_RETRY_BASE", cls.base)),
            cap=float(os.environ.get("LANTIAN_FIELD_RETRY_CAP", cls.cap)),
        )

    def decorate(self, function: Callable[..., T]) -> Callable[..., T]:
        jitter = wait_exponential_jitter(multiplier=self.base, max=self.cap, jitter=self.base)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, Retryable) and error.retry_after is not None:
                return error.retry_after
            return jitter(state)

        return retry(
            retry=retry_if_exception(_transient),
            wait=wait,
            stop=stop_after_attempt(self.attempts),
            reraise=True,
        )(function)


def error_code(response: httpx.Response) -> str | None:
    """The machine code of an error response (None: no JSON body, e.g. a proxy's page)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _refuse(response: httpx.Response) -> None:
    """Raise for a response the caller does not handle itself: transient statuses (429,
    5xx, which a proxy may send without a body) are retried, the rest are told apart by
    the server's machine code."""
    if response.status_code in RETRYABLE_STATUS:
        raise Retryable(response.status_code, _retry_after(response))
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    body = body if isinstance(body, dict) else {"message": str(body)[:200]}
    code = body.get("error")
    if code == WRONG_PASSWORD:
        raise FieldError("用户名或密码错误 / wrong username or password")
    if code == ACCOUNT_DISABLED:
        raise NotLoggedIn("账号已停用 / this account is disabled")
    if code in LOG_IN_AGAIN or (code is None and response.status_code == 401):
        raise NotLoggedIn("登录已失效，请重新登录 / not logged in or token expired: run login")
    raise ServerRefused(response.status_code, body.get("message", ""), body.get("errors"), code)


class SyncApi:
    """One server and one token; every call is retried under the policy."""

    def __init__(
        self,
        server: str,
        token: str | None,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = httpx.Timeout(float(os.environ.get("LANTIAN_FIELD_TIMEOUT", "30")), connect=10)
        # One client for every thread: httpx.Client may be shared between threads.
        self.http = httpx.Client(
            base_url=server.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.policy = policy or RetryPolicy.from_env()
        # Adapts to the link: halved after a chunk is cut off, doubled back after one arrives,
        # so a connection that drops every few hundred kilobytes still makes progress.
        self.chunk_bytes = CHUNK_BYTES
        # Whether photos up to WHOLE_PHOTO_BYTES still go whole: until one is cut off.
        self.link_holds = True

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """One request, retried while transient; `expect` lists the statuses the caller handles."""

        def attempt() -> httpx.Response:
            response = self.http.request(method, path, **kwargs)
            if response.status_code not in expect:
                _refuse(response)
            return response

        return self._run(attempt)

    def _run(self, attempt: Callable[[], T]) -> T:
        """Run with retries; once they are spent, tell the user in words."""
        try:
            return self.policy.decorate(attempt)()
        except httpx.TransportError as error:
            raise FieldError(
                f"无法连接服务器 / cannot reach the server ({type(error).__name__}): {error}"
            ) from error
        except Retryable as error:
            raise FieldError(f"服务器暂时不可用 / server unavailable ({error.status})") from error

    # ---- the calls the client makes

    def login(self, username: str, password: str) -> dict[str, Any]:
        response = self.call(
            "POST", "/api/v1/auth/token", json={"username": username, "password": password}
        )
        return response.json()

    def get_json(
        self, path: str, etag: str | None = None, params: dict[str, Any] | None = None
    ) -> tuple[Any, str | None]:
        """GET with If-None-Match; (None, etag) when not modified."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self.call("GET", path, expect=(200, 304), headers=headers, params=params)
        if response.status_code == 304:
            return None, etag
        return response.json(), response.headers.get("ETag")

    def put_inspection(
        self, uuid: str, body: dict[str, Any], if_match: str | None
    ) -> dict[str, Any]:
        headers = {"If-Match": f'"{if_match}"'} if if_match else {}
        # The device's clock at sending, so the server can flag a clock that is far off.
        headers["Lantian-Device-Time"] = datetime.now(UTC).isoformat()
        response = self.call(
            "PUT", f"/api/v1/inspections/{uuid}", expect=(200, 201), json=body, headers=headers
        )
        return response.json()

    def missing_photos(self, hashes: Sequence[str]) -> set[str] | None:
        """Which of these photos the server lacks (or the caller may not see there), asked
        QUESTION_HASHES at a time; None from a server too old to answer the question, so
        that each photo is asked about with its own HEAD, as before."""
        missing: set[str] = set()
        for start in range(0, len(hashes), QUESTION_HASHES):
            response = self.call(
                "POST",
                "/api/v1/photos/missing",
                expect=(200, 404, 405),
                json={"sha256": list(hashes[start : start + QUESTION_HASHES])},
            )
            if response.status_code != 200:
                return None
            missing.update(response.json()["missing"])
        return missing

    def upload_photo(
        self,
        sha256: str,
        data: bytes,
        upload_url: str | None = None,
        remember: Callable[[str], None] | None = None,
        progress: Callable[[int], None] | None = None,
        ask: bool = True,
    ) -> None:
        """Send a photo the server lacks: small ones whole, larger ones by tus 1.0, resuming
        from the byte the server holds after any break (also across runs, through the
        upload URL the caller `remember`s and passes back as `upload_url`).

        Photos up to WHOLE_PHOTO_BYTES go whole too while the link holds and no upload of
        this photo was started by tus. Each attempt first asks (HEAD) whether the server
        already has the photo, except, with `ask=False` (the caller just learned the server
        lacks it), the first attempt of a whole upload: a retry after a break asks again,
        since the broken upload may have arrived."""
        state: dict[str, Any] = {"url": upload_url, "ask": ask}

        def whole_upload() -> bool:
            return self.sends_whole(len(data)) and (
                len(data) <= SMALL_PHOTO_BYTES or not state["url"]
            )

        def attempt() -> None:
            if state["ask"] or not whole_upload():
                probe = self.http.head(f"/api/v1/photos/{sha256}")
                if probe.status_code == 200:
                    return
                if probe.status_code != 404:
                    _refuse(probe)
            state["ask"] = True  # from the next attempt on
            if whole_upload():
                self.put_photo(sha256, data)
                if progress:
                    progress(len(data))
                return
            offset = self._tus_offset(state["url"])
            if offset == len(data):
                # Every byte is there but no photo: the server died before finalising.
                if self._tus_finalise(state["url"], len(data)):
                    return
                offset = None  # it will not finalise this one: start a new upload
            if offset is None:
                state["url"] = self._tus_create(sha256, len(data))
                if remember:
                    remember(state["url"])
                offset = 0
            try:
                self._tus_send(state["url"], data, offset, progress)
            except httpx.TransportError:
                self.chunk_bytes = max(MIN_CHUNK_BYTES, self.chunk_bytes // 2)
                raise

        self._run(attempt)

    def sends_whole(self, size: int) -> bool:
        """Whether a photo of this size, not yet started by tus, goes whole with one PUT."""
        return size <= SMALL_PHOTO_BYTES or (size <= WHOLE_PHOTO_BYTES and self.link_holds)

    def put_photo(self, sha256: str, data: bytes) -> None:
        """One whole PUT, neither asking first nor retried (`upload_photo` does both). A
        break means the link does not hold: from then on larger photos go by tus."""
        try:
            response = self.http.put(
                f"/api/v1/photos/{sha256}", content=data, headers={"Content-Type": "image/jpeg"}
            )
        except httpx.TransportError:
            if len(data) > SMALL_PHOTO_BYTES:
                self.link_holds = False  # from now on: by tus, resumable
            raise
        if response.status_code not in (200, 201):
            _refuse(response)

    def _tus_offset(self, url: str | None) -> int | None:
        """Where a known upload stands; None when there is none (or the server forgot it)."""
        if not url:
            return None
        response = self.http.head(url, headers=TUS)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            _refuse(response)
        return int(response.headers["Upload-Offset"])

    def _tus_finalise(self, url: str, length: int) -> bool:
        """Ask the server to finalise an upload whose every byte it holds (an empty PATCH at
        the end); False when it will not (e.g. a server that refuses empty chunks)."""
        response = self.http.patch(
            url,
            content=b"",
            headers={
                **TUS,
                "Upload-Offset": str(length),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        if response.status_code == 204:
            return True
        if response.status_code in RETRYABLE_STATUS or response.status_code == 401:
            _refuse(response)
        return False

    def _tus_create(self, sha256: str, length: int) -> str:
        encoded = base64.b64encode(sha256.encode()).decode()
        response = self.http.post(
            "/api/v1/uploads",
            headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": f"sha256 {encoded}"},
        )
        if response.status_code != 201:
            _refuse(response)
        return response.headers["Location"]

    def _tus_send(
        self, url: str, data: bytes, offset: int, progress: Callable[[int], None] | None
    ) -> None:
        while offset < len(data):
            chunk = data[offset : offset + self.chunk_bytes]
            response = self.http.patch(
                url,
                content=chunk,
                headers={
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            if error_code(response) == OFFSET_CONFLICT:  # the server holds a different amount
                offset = int(response.headers.get("Upload-Offset", "0"))
                continue
            if response.status_code != 204:
                _refuse(response)
            offset = int(response.headers["Upload-Offset"])
            self.chunk_bytes = min(CHUNK_BYTES, self.chunk_bytes * 2)
            if progress:
                progress(len(chunk))
