"""Outbound webhooks: endpoints administrators register per event kind, and deliveries.

Each delivery POSTs the event's stored JSON body, signed with HMAC-SHA256 of exactly those
bytes under the endpoint's secret (`X-Lantian-Signature: sha256=<hex>`), with the event's
id (`X-Lantian-Event-Id`) so a receiver can drop a repeat. A 2xx marks it delivered and it
is never posted again; anything else is logged as an attempt and retried with Dramatiq's
exponential backoff until `SEND_MAX_ATTEMPTS`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from server.extensions import db
from server.models import (
    OutboxEvent,
    Role,
    SendStatus,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from server.services import audit
from server.services.errors import ErrorCode, Forbidden, Invalid, NotFound
from server.services.lifecycles.delivery import after_failure, claim, finish
from server.services.outbox import EVENTS

SIGNATURE_HEADER = "X-Lantian-Signature"
EVENT_ID_HEADER = "X-Lantian-Event-Id"
EVENT_HEADER = "X-Lantian-Event"
# The events an endpoint may subscribe to (the task's own mails are not announced).
WEBHOOK_EVENTS = tuple(kind for kind in EVENTS if kind not in ("task.created", "task.reassigned"))


class DeliveryFailed(Exception):
    """A delivery that did not succeed and will be tried again (Dramatiq retries on it)."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`: `sha256=` and the HMAC's hex digest."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅管理员可管理 Webhook / only administrators manage webhooks"
        )


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InternalAddress(Exception):
    """The endpoint's host is (or now resolves to) an address the server must not post to."""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = str(current_app.config.get("WEBHOOK_ALLOW_NETWORKS") or "")
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()
    ]


def _resolve(url: str) -> list[IPAddress]:
    """Every address `url`'s host resolves to now (an IP literal is its own); empty when
    the name does not resolve."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        return []
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        addresses.append(address)
    return addresses


def _blocked(addresses: list[IPAddress]) -> str | None:
    """The first address that is not public (loopback, private, link-local such as
    169.254.169.254, shared, reserved, multicast) and not in `WEBHOOK_ALLOW_NETWORKS`."""
    allowed = _allowed_networks()
    for address in addresses:
        public = address.is_global and not address.is_multicast
        if not public and not any(address in network for network in allowed):
            return str(address)
    return None


def internal_address(url: str) -> str | None:
    """The first internal address `url`'s host resolves to (see `_blocked`); None when
    every address is public or the name does not resolve now (a delivery resolves it
    again, and fails if it still does not).

    Resolving, not matching the text, is what catches `http://0x7f000001/`,
    `http://localhost/` and a public name pointing at an internal address."""
    return _blocked(_resolve(url))


def _pinned(url: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by the one checked address it resolved to, with the
    Host header and TLS server name of the original: the connection goes where the check
    looked. Letting httpx resolve the name again would leave a window in which a name
    with a short TTL is pointed inward between the check and the connection (DNS
    rebinding)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    addresses = _resolve(url)
    if not addresses:
        raise InternalAddress(f"refused: {host} does not resolve")
    if blocked := _blocked(addresses):
        raise InternalAddress(f"refused: {host} resolves to {blocked}")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    userinfo, _, authority = parts.netloc.rpartition("@")  # authority: the Host header
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    netloc = f"{userinfo}@{netloc}" if userinfo else netloc
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": authority}, extensions


def _validate(fields: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    url = str(fields.get("url", "")).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        problems["url"] = ["须为 http(s) 地址 / must be an http(s) URL of at most 500 characters"]
    elif blocked := internal_address(url):
        problems["url"] = [
            f"不能推送到内部地址 {blocked}（可由 LANTIAN_WEBHOOK_ALLOW_NETWORKS 放行）/ the host "
            f"resolves to the internal address {blocked} (allow it with "
            "LANTIAN_WEBHOOK_ALLOW_NETWORKS)"
        ]
    events = fields.get("events") or []
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if not events:
        problems["events"] = ["至少选择一个事件 / choose at least one event"]
    elif unknown:
        problems["events"] = [f"未知事件 / unknown events: {', '.join(unknown)}"]
    if len(str(fields.get("description", ""))) > 200:
        problems["description"] = ["最多200字 / at most 200 characters"]
    return problems


def create(user: User, fields: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is shown this once only."""
    _admin(user)
    if problems := _validate(fields):
        raise Invalid(ErrorCode.WEBHOOK_INVALID, "Webhook 设置有误 / invalid webhook", problems)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        url=str(fields["url"]).strip(),
        events=sorted(set(fields["events"])),
        description=str(fields.get("description", "")).strip(),
        secret=secret,
        active=True,
        created_by=user.id,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record_action(
        user,
        "webhook.registered",
        ("webhook_endpoint", str(endpoint.id)),
        {"url": endpoint.url, "events": endpoint.events},
        created=[endpoint],
    )
    db.session.commit()
    return endpoint, secret


def listing(user: User) -> list[WebhookEndpoint]:
    _admin(user)
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get(user: User, endpoint_id: int) -> WebhookEndpoint:
    _admin(user)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(ErrorCode.WEBHOOK_NOT_FOUND, f"Webhook 不存在 / no webhook {endpoint_id}")
    return endpoint


def disable(user: User, endpoint_id: int) -> WebhookEndpoint:
    """Stop sending to an endpoint (kept, with its deliveries' history). A conditional
    update: of two administrators disabling it at once, one records the change; the other
    is answered with the endpoint as it now is (disabling is idempotent, not a conflict)."""
    endpoint = get(user, endpoint_id)
    changed = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        set_committed_value(endpoint, "active", False)
        audit.record_action(
            user,
            "webhook.disabled",
            ("webhook_endpoint", str(endpoint.id)),
            {"url": endpoint.url},
            touched=[endpoint],
        )
    else:
        db.session.refresh(endpoint)
    db.session.commit()
    return endpoint


def deliveries(user: User, endpoint_id: int, limit: int = 100) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, each with its attempts."""
    get(user, endpoint_id)
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def _post(endpoint: WebhookEndpoint, event: OutboxEvent, attempt: int) -> httpx.Response:
    body = event.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "LantianInspect-Webhook/1",
        EVENT_ID_HEADER: event.event_id,
        EVENT_HEADER: event.kind,
        SIGNATURE_HEADER: sign(endpoint.secret, body),
        "X-Lantian-Delivery-Attempt": str(attempt),
    }
    timeout = current_app.config["WEBHOOK_TIMEOUT_S"]
    # Checked again on every attempt (a name may have been pointed inward since
    # registration), and the connection made to the address that was checked.
    url, host, extensions = _pinned(endpoint.url)
    with httpx.Client(timeout=timeout) as http:
        request = http.build_request(
            "POST", url, content=body, headers={**headers, **host}, extensions=extensions
        )
        return http.send(request)


def deliver_one(delivery_id: int) -> bool:
    """Post one delivery if this caller wins its claim; True when it was delivered here.

    Raises `DeliveryFailed` after logging the attempt when the receiver did not answer 2xx
    (the delivery is pending again, or failed after the last allowed attempt), and when
    another worker holds the delivery right now (so this message comes back later rather
    than being dropped while the other one might still fail)."""
    claimed = claim(WebhookDelivery, delivery_id)
    if claimed is None:
        status = db.session.scalar(
            select(WebhookDelivery.status).where(WebhookDelivery.id == delivery_id)
        )
        db.session.commit()
        if status == SendStatus.SENDING.value:
            raise DeliveryFailed(f"delivery {delivery_id} is being sent by another worker")
        return False
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    endpoint = delivery.endpoint
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == delivery.event_id))
    assert event is not None
    attempt = delivery.attempts
    if not endpoint.active:
        db.session.commit()
        finish(WebhookDelivery, delivery_id, claimed, SendStatus.FAILED, last_error="disabled")
        return False
    started = time.monotonic()
    code: int | None = None
    error = ""
    try:
        response = _post(endpoint, event, attempt)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:200]}"
    except Exception as failure:  # unreachable, timed out, a URL httpx refuses…
        error = f"{type(failure).__name__}: {failure}"[:1000]
    elapsed = int((time.monotonic() - started) * 1000)
    db.session.rollback()
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            number=attempt,
            status_code=code,
            ok=not error,
            error=error,
            duration_ms=elapsed,
        )
    )
    db.session.commit()
    if not error:
        finish(
            WebhookDelivery,
            delivery_id,
            claimed,
            SendStatus.SENT,
            delivered_at=utcnow(),
            last_error="",
        )
        return True
    status = after_failure(attempt)
    finish(WebhookDelivery, delivery_id, claimed, status, last_error=error)
    if status is SendStatus.FAILED:
        return False
    raise DeliveryFailed(f"delivery {delivery_id} attempt {attempt}: {error}")


def deliver_job(delivery_id: int) -> None:
    """The Dramatiq job: one delivery; a failure raises, and Dramatiq retries it later."""
    deliver_one(delivery_id)


def pending_ids(limit: int = 500) -> list[int]:
    """Deliveries waiting for an attempt, oldest first."""
    ids = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == SendStatus.PENDING.value)
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )
    db.session.commit()
    return ids


def deliver_pending(limit: int = 500) -> tuple[int, int]:
    """One attempt at every pending delivery (for `reminders run` without a broker)."""
    ids = pending_ids(limit)
    delivered = failed = 0
    for delivery_id in ids:
        try:
            delivered += deliver_one(delivery_id)
        except DeliveryFailed:
            failed += 1
    return delivered, failed
