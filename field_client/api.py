"""The sync API as the device sees it: httpx with timeouts, tenacity retries with backoff.

Connection errors, timeouts, 429 and 5xx are retried with exponential backoff and jitter,
honouring Retry-After; any other 4xx is the server's considered answer and is shown to the
user, never retried.
"""

from __future__ import annotations

import base64
import os
import threading
import time
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
SMALL_PHOTO_BYTES = 128 * 1024  # always sent whole with PUT: too small to be worth resuming
# Photos up to this size (every photo the client stores, in practice) are sent whole with
# one PUT while the link holds. Once a whole upload is cut off, this client sends everything
# above SMALL_PHOTO_BYTES by tus instead, still one request per photo: a creation carrying
# the whole file (creation-with-upload). The server writes every body as it arrives, so
# after a cut the photo is resumed with one question (a creation with Lantian-Resume,
# which answers where the bytes stand) and one PATCH carrying the rest of the file.
WHOLE_PHOTO_BYTES = 1024 * 1024
# How long the client keeps an idle connection for reuse. It must be shorter than the
# server's keep-alive (deploy/gunicorn.conf.py, LANTIAN_KEEPALIVE: 30 s), or the client
# reuses a connection at the moment the server closes it: with both at 5 s, a connection
# idle ~4.5 s between inspections was reset on reuse and read as a broken link.
POOL_KEEPALIVE_S = 10.0
# A request that fails on a reused connection before any answer, within this long of
# being sent, met a connection the server (or a middlebox) had just closed while idle: it
# is sent again at once on a new connection, and says nothing about the link. A cut later
# than this, or on a new connection, is a real break.
STALE_WINDOW_S = 2.0
# Idle connections the pool keeps. Each stale one fails once and is dropped, and a resend
# that opens a new connection is never counted stale, so this many resends always reach a
# new connection when every pooled one went stale together.
POOL_CONNECTIONS = 8
STALE_RETRIES = POOL_CONNECTIONS + 1
# The slowest share of the link an upload is expected to get (three at once on a poor rural
# link). A request carrying a body waits for its answer the usual timeout plus the time the
# body takes at this rate: the body may sit in socket buffers long after it was "written",
# and three photos sharing 1 Mbit/s were cut off by a flat 30 s wait for an answer.
SLOWEST_UPLOAD_BPS = 64_000
# Hashes per "which of these do you lack" question (the server takes up to 1000).
QUESTION_HASHES = 500
TUS = {"Tus-Resumable": "1.0.0"}
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
# The server's machine codes (README "Error codes") the client acts on.
WRONG_PASSWORD = "auth.bad_credentials"
LOG_IN_AGAIN = {"auth.required", "auth.token_invalid", "auth.token_expired"}
ACCOUNT_DISABLED = "auth.account_disabled"
OFFSET_CONFLICT = "upload.offset_conflict"
OFFSET_STREAM = "application/offset+octet-stream"
RESUME = {"Lantian-Resume": "1"}


class _Watch:
    """httpcore's trace hook for one request: whether it opened a new connection and
    whether any answer arrived, which tells a stale pooled connection from a broken link."""

    def __init__(self) -> None:
        self.new_connection = False
        self.answered = False
        self.started = time.monotonic()

    def __call__(self, event: str, _info: dict[str, Any]) -> None:
        if event.startswith("connection.connect_tcp"):
            self.new_connection = True
        elif event.endswith("receive_response_headers.complete"):
            self.answered = True

    def stale(self, error: httpx.TransportError) -> bool:
        return (
            not self.new_connection
            and not self.answered
            and not isinstance(error, httpx.TimeoutException)
            and time.monotonic() - self.started < STALE_WINDOW_S
        )


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
        self.timeout_s = float(os.environ.get("LANTIAN_FIELD_TIMEOUT", "30"))
        timeout = httpx.Timeout(self.timeout_s, connect=10)
        limits = httpx.Limits(
            max_connections=None,
            max_keepalive_connections=POOL_CONNECTIONS,
            keepalive_expiry=POOL_KEEPALIVE_S,
        )
        # One client for every thread: httpx.Client may be shared between threads.
        self.http = httpx.Client(
            base_url=server.rstrip("/"),
            headers=headers,
            timeout=timeout,
            transport=transport,
            limits=limits,
        )
        self.policy = policy or RetryPolicy.from_env()
        # Whether photos up to WHOLE_PHOTO_BYTES still go whole by PUT: until one is cut off
        # (a real break, not a stale connection: see STALE_WINDOW_S).
        self.link_holds = True
        # Requests sent again because their pooled connection had been closed while idle.
        self.stale_resends = 0
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """One request, retried while transient; `expect` lists the statuses the caller handles."""

        def attempt() -> httpx.Response:
            response = self.send(method, path, **kwargs)
            if response.status_code not in expect:
                _refuse(response)
            return response

        return self._run(attempt)

    def send(
        self, method: str, url: str, resend_stale: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """One request; sent again at once, on a new connection, when the pooled one it
        went out on turns out to have been closed while idle (see STALE_WINDOW_S). Every
        request of this client goes through here; bodies are bytes, so resending is safe,
        and every request this client makes is idempotent on the server, except a tus
        creation: it passes `resend_stale=False`, since a real cut taken for a stale
        connection would leave an upload behind that a resend does not know of (its
        caller resumes instead, which finds that upload)."""
        for tries_left in range(STALE_RETRIES if resend_stale else 0, -1, -1):
            watch = _Watch()
            extensions = {**kwargs.pop("extensions", {}), "trace": watch}
            try:
                return self.http.request(method, url, extensions=extensions, **kwargs)
            except httpx.TransportError as error:
                if not tries_left or not watch.stale(error):
                    raise
                with self._count_lock:
                    self.stale_resends += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def body_timeout(self, size: int) -> httpx.Timeout:
        """The timeout of a request carrying `size` bytes (see SLOWEST_UPLOAD_BPS)."""
        return httpx.Timeout(self.timeout_s + size * 8 / SLOWEST_UPLOAD_BPS, connect=10)

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
        """Send a photo the server lacks, retried under the policy; every way is one
        request per photo while nothing breaks.

        Small photos, and photos up to WHOLE_PHOTO_BYTES while the link holds, go whole with
        one PUT (a PUT cut off is sent again whole if small, else resumed by tus). Others go
        by tus, resumable: a creation carrying the whole file; after a cut, one creation
        with Lantian-Resume asks where the bytes stand (or says the photo arrived) and one
        PATCH sends the rest. An upload begun in an earlier run (`upload_url`, which the
        caller `remember`s) is asked about with a HEAD on its URL.

        `ask=True` (the server could not answer the batch question: an older server) asks
        with a HEAD on the photo before each attempt whether the server already has it;
        `ask=False` (the caller just learned the server lacks it) never does.
        """
        state: dict[str, Any] = {"url": upload_url, "resume": bool(upload_url)}

        def attempt() -> None:
            if ask:
                probe = self.send("HEAD", f"/api/v1/photos/{sha256}")
                if probe.status_code == 200:
                    return
                if probe.status_code != 404:
                    _refuse(probe)
            if self.sends_whole(len(data)) and (
                len(data) <= SMALL_PHOTO_BYTES or not state["resume"]
            ):
                try:
                    self.put_photo(sha256, data)
                except httpx.TransportError:
                    state["resume"] = True
                    raise
            else:
                try:
                    self._tus_upload(sha256, data, state, remember)
                except httpx.TransportError:
                    state["resume"] = True
                    raise
            if progress:
                progress(len(data))

        self._run(attempt)

    def _tus_upload(
        self,
        sha256: str,
        data: bytes,
        state: dict[str, Any],
        remember: Callable[[str], None] | None,
    ) -> None:
        """One tus attempt: where the bytes stand (if resuming), then the rest in one go."""
        offset = self._tus_offset(state["url"]) if state["url"] else None
        if offset == len(data):
            # Every byte is there but no photo: the server died before finalising.
            if self._tus_finalise(state["url"], len(data)):
                return
            offset = None  # it will not finalise this one: start a new upload
        if offset is None:
            state["url"], offset = self._tus_create(sha256, data, resume=state["resume"])
            if state["url"] is None:
                return  # the server holds the photo already
            if remember:
                remember(state["url"])
        if offset < len(data):
            self._tus_send(state["url"], data, offset)

    def sends_whole(self, size: int) -> bool:
        """Whether a photo of this size, not yet started by tus, goes whole with one PUT."""
        return size <= SMALL_PHOTO_BYTES or (size <= WHOLE_PHOTO_BYTES and self.link_holds)

    def put_photo(self, sha256: str, data: bytes) -> None:
        """One whole PUT, neither asking first nor retried (`upload_photo` retries). A
        break (not a stale connection, which `send` resends) means the link does not hold:
        from then on larger photos go by tus, resumable."""
        try:
            response = self.send(
                "PUT",
                f"/api/v1/photos/{sha256}",
                content=data,
                headers={"Content-Type": "image/jpeg"},
                timeout=self.body_timeout(len(data)),
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
        response = self.send("HEAD", url, headers=TUS)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            _refuse(response)
        return int(response.headers["Upload-Offset"])

    def _tus_finalise(self, url: str, length: int) -> bool:
        """Ask the server to finalise an upload whose every byte it holds (an empty PATCH at
        the end); False when it will not (e.g. a server that refuses empty chunks)."""
        response = self.send(
            "PATCH",
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

    def _tus_create(self, sha256: str, data: bytes, resume: bool) -> tuple[str | None, int]:
        """Create an upload carrying the whole file (creation-with-upload), or, resuming,
        ask for this user's upload of the photo with no body. Returns its URL and the bytes
        the server holds; no URL when the server says it holds the photo already. A server
        without creation-with-upload answers offset 0 and the caller PATCHes it all."""
        encoded = base64.b64encode(sha256.encode()).decode()
        headers = {**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": f"sha256 {encoded}"}
        if resume:
            response = self.send("POST", "/api/v1/uploads", headers={**headers, **RESUME})
        else:
            headers["Content-Type"] = OFFSET_STREAM
            response = self.send(
                "POST",
                "/api/v1/uploads",
                resend_stale=False,
                headers=headers,
                content=data,
                timeout=self.body_timeout(len(data)),
            )
        if resume and response.status_code == 200:
            return None, len(data)
        if response.status_code != 201:
            _refuse(response)
        return response.headers["Location"], int(response.headers.get("Upload-Offset", "0"))

    def _tus_send(self, url: str, data: bytes, offset: int) -> None:
        """The rest of the file from `offset`, in one PATCH (the server keeps whatever of it
        arrives, so a cut loses nothing that was sent)."""
        while offset < len(data):
            response = self.send(
                "PATCH",
                url,
                content=data[offset:],
                headers={**TUS, "Upload-Offset": str(offset), "Content-Type": OFFSET_STREAM},
                timeout=self.body_timeout(len(data) - offset),
            )
            if error_code(response) == OFFSET_CONFLICT:  # the server holds a different amount
                offset = int(response.headers.get("Upload-Offset", "0"))
                continue
            if response.status_code != 204:
                _refuse(response)
            offset = int(response.headers["Upload-Offset"])
