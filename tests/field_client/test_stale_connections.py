"""Which failed requests the client resends at once as a stale pooled connection, and
which it takes for a broken link (tests/e2e/test_link_resume.py does it for real)."""

from __future__ import annotations

import httpx

from field_client import api
from field_client.api import _Watch

BROKEN = httpx.RemoteProtocolError("Server disconnected without sending a response.")


def test_a_reused_connection_failing_at_once_without_an_answer_is_stale() -> None:
    watch = _Watch()
    watch("http11.send_request_headers.started", {})
    assert watch.stale(BROKEN)


def test_a_new_connection_failing_is_a_broken_link() -> None:
    watch = _Watch()
    watch("connection.connect_tcp.started", {})
    assert not watch.stale(BROKEN)


def test_a_failure_after_an_answer_began_is_a_broken_link() -> None:
    watch = _Watch()
    watch("http11.receive_response_headers.complete", {})
    assert not watch.stale(BROKEN)


def test_a_timeout_is_never_stale() -> None:
    assert not _Watch().stale(httpx.ReadTimeout("slow"))


def test_a_failure_long_after_sending_is_a_broken_link() -> None:
    watch = _Watch()
    watch.started -= api.STALE_WINDOW_S + 0.1
    assert not watch.stale(BROKEN)


def test_the_pool_keeps_connections_shorter_than_the_server() -> None:
    """deploy/gunicorn.conf.py keeps them 30 s (tests/e2e/test_link_resume.py reads it)."""
    assert 0 < api.POOL_KEEPALIVE_S <= 15
