"""Real delivery targets on loopback: an SMTP server (aiosmtpd) that keeps what it receives,
and an HTTP receiver that checks webhook signatures and counts deliveries per event id."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from server.extensions import db
from server.models import User
from server.services import accounts
from tests.helpers import PASSWORD, login


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd handler: every accepted message, parsed; `fail_next` refuses that many."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.fail_next = 0
        self.delay_s = 0.0  # a slow server, so that concurrent senders overlap
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 try again later"
            raw = envelope.original_content or envelope.content
            self.messages.append(email.message_from_bytes(raw, policy=default))  # type: ignore[arg-type]
        return "250 OK"

    def keys(self) -> Counter[str]:
        """How many times each recorded message (by its dedup key) arrived."""
        with self.lock:
            return Counter(str(m["X-Lantian-Notification"]) for m in self.messages)

    def senders(self) -> set[str]:
        """The process ids that sent the messages (`make_msgid` puts its pid in each id)."""
        with self.lock:
            return {str(m["Message-ID"]).strip("<>").split(".")[1] for m in self.messages}

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(app: Flask) -> Iterator[Inbox]:
    """A real SMTP server on loopback; the app mails it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    try:
        yield inbox
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)
        controller.stop()


class Receiver:
    """A webhook receiver: answers 500 to the first `fail_first` posts of each event, checks
    every signature, and counts the posts it accepted per event id."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.secret = ""
        self.posts: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.bad_signatures: list[str] = []
        self.bodies: dict[str, dict[str, Any]] = {}
        self.hosts: list[str] = []  # the Host header of every post
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event_id = self.headers["X-Lantian-Event-Id"]
                expected = (
                    "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                )
                with receiver.lock:
                    receiver.hosts.append(self.headers["Host"])
                    if not hmac.compare_digest(expected, self.headers["X-Lantian-Signature"]):
                        receiver.bad_signatures.append(event_id)
                        status = 401
                    else:
                        receiver.posts[event_id] += 1
                        if receiver.posts[event_id] <= receiver.fail_first:
                            status = 500
                        else:
                            receiver.accepted[event_id] += 1
                            receiver.bodies[event_id] = json.loads(body)
                            status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mailed(app: Flask, users: dict[str, User]) -> dict[str, User]:
    """Users with addresses: enterprise A (two accounts), a 朔州 and a 长治 supervisor, an
    inspector; the plain fixture users have none and are never mailed."""
    made = {
        "ent": accounts.add_user(
            "ent_mail",
            "enterprise",
            PASSWORD,
            enterprise_id=users["enterprise"].enterprise_id,
            email="boss@ent-a.example",
        ),
        "ent_b": accounts.add_user(
            "ent_mail2",
            "enterprise",
            PASSWORD,
            enterprise_id=users["enterprise"].enterprise_id,
            email="safety@ent-a.example",
        ),
        "sup": accounts.add_user(
            "sup_mail", "supervisor", PASSWORD, city="朔州", email="sup@sz.gov"
        ),
        "sup_cz": accounts.add_user(
            "sup_cz_mail", "supervisor", PASSWORD, city="长治", email="sup@cz.gov"
        ),
        "insp": accounts.add_user("insp_mail", "inspector", PASSWORD, email="insp@sz.gov"),
    }
    db.session.commit()
    return made


@pytest.fixture
def mail_headers(client, mailed):  # type: ignore[no-untyped-def]
    return {name: login(client, user.username) for name, user in mailed.items()}
