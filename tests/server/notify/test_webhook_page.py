"""/review/webhooks: the administrator registers an endpoint on the page, sees its secret on
that response only, and disables it; nobody else gets in."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.web.pages import post_form, sign_in

PAGE = "/review/webhooks"


def test_the_admin_registers_sees_the_secret_once_and_disables(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "adm")
    registered = post_form(
        client,
        PAGE,
        PAGE,
        {"url": "https://hooks.example/in", "events": ["notice.issued", "finding.closed"]},
    )
    assert registered.status_code == 201, registered.text
    secret = re.search(r"<code>(whsec_[^<]+)</code>", registered.text)
    assert secret is not None and "仅显示这一次" in registered.text
    again = client.get(PAGE)
    assert again.status_code == 200 and secret.group(1) not in again.text
    assert "https://hooks.example/in" in again.text and "尚无推送 / no deliveries yet" in again.text
    disabled = post_form(client, PAGE, f"{PAGE}/1/disable", {})
    assert disabled.status_code == 303
    assert "已停用 / disabled" in client.get(PAGE).text
    refused = post_form(client, PAGE, PAGE, {"url": "ftp://x", "events": ["notice.issued"]})
    assert refused.status_code == 422 and "http(s)" in refused.text


def test_a_supervisor_is_refused(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    assert client.get(PAGE).status_code == 403
