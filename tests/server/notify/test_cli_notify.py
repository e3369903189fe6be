"""The command line: `webhooks list` never prints a secret; `worker` without a broker says
the jobs already run inside the server; `reminders run` reports what it sent."""

from __future__ import annotations

from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from server.cli import main
from server.services.notify import webhooks


def run(app: Flask, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_webhooks_list_shows_endpoints_without_secrets(app: Flask, users) -> None:  # type: ignore[no-untyped-def]
    _endpoint, secret = webhooks.create(
        users["admin"], {"url": "https://hooks.example/a", "events": ["finding.closed"]}
    )
    result = run(app, "webhooks", "list")
    assert result.exit_code == 0, result.output
    assert "https://hooks.example/a" in result.output and "finding.closed" in result.output
    assert secret not in result.output


def test_worker_without_a_broker_explains_and_stops(app: Flask) -> None:
    result = run(app, "worker")
    assert result.exit_code == 2
    assert "LANTIAN_BROKER_URL" in result.output


def test_reminders_run_reports(app: Flask, users) -> None:  # type: ignore[no-untyped-def]
    result = run(app, "reminders", "run")
    assert result.exit_code == 0, result.output
    assert "已发送 / sent 0" in result.output
