"""`lantian-server`: the Flask CLI of this app (run, db upgrade, users, sites, demo, checklists)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext
from rich.console import Console
from rich.table import Table

from checklists import ChecklistError
from checklists.check import check_directory
from server import create_app
from server.extensions import db
from server.services import accounts, checklists, demo
from server.services.errors import DomainError
from server.services.sites_import import import_sites

console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> None:
    err_console.print(f"[red]错误 / error:[/red] {message}")
    sys.exit(1)


@click.group(cls=FlaskGroup, create_app=lambda: create_app())
def main() -> None:
    """蓝天巡检服务端 / Lantian Inspect server."""


@main.group()
def users() -> None:
    """用户 / Manage users."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice(["inspector", "supervisor", "enterprise", "admin"])
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--enterprise", "enterprise_id", type=int, help="enterprise id (enterprise users)")
@click.option("--city", help="limit an inspector or supervisor to one city")
@with_appcontext
def users_add(
    name: str, role: str, password: str, enterprise_id: int | None, city: str | None
) -> None:
    """Add a user with one role."""
    try:
        user = accounts.add_user(name, role, password, enterprise_id, city)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.errors.items())
        _fail(f"{error.message} ({details})" if details else error.message)
    console.print(f"已添加 / added user [bold]{user.username}[/bold] ({user.role}), id {user.id}")


@users.command("revoke")
@click.argument("name")
@with_appcontext
def users_revoke(name: str) -> None:
    """Revoke every token of a user (they must log in again)."""
    try:
        count = accounts.revoke_tokens(name)
    except DomainError as error:
        _fail(error.message)
    console.print(f"已吊销 / revoked {count} token(s) of {name}")


@main.group()
def sites() -> None:
    """场所 / Site registry."""


@sites.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def sites_import(csv_file: Path) -> None:
    """Import enterprises and sites from CSV; nothing is imported if any row is bad."""
    try:
        report = import_sites(csv_file.read_bytes())
    except (DomainError, UnicodeDecodeError) as error:
        _fail(getattr(error, "message", str(error)))
    if report.errors:
        # Plain lines, one per problem, so they can be grepped and never wrap mid-message.
        click.echo("未导入：以下行有误 / nothing imported: bad rows", err=True)
        for line, problem in report.errors:
            click.echo(f"第{line}行 / line {line}: {problem}", err=True)
        sys.exit(1)
    console.print(f"已导入 / imported {report.enterprises} enterprise(s), {report.sites} site(s)")


@main.group("checklists")
def checklists_group() -> None:
    """检查表 / Checklists."""


@checklists_group.command("check")
def checklists_check() -> None:
    """Validate every checklist file and find every quote in its plan."""
    problems = check_directory()
    for problem in problems:
        err_console.print(problem)
    if problems:
        sys.exit(1)
    console.print("检查表全部有效，引文均在原文中 / all checklists valid, every quote found")


@checklists_group.command("load")
@with_appcontext
def checklists_load() -> None:
    """Store the current checklist files as versions in the database."""
    try:
        loaded = checklists.load_rule_files()
    except ChecklistError as error:
        _fail(str(error))
    for checklist_id, version, fresh in loaded:
        console.print(f"{checklist_id} {version} {'新版本 / new' if fresh else '已有 / unchanged'}")


@main.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load checklists, a demo registry in four cities and demo users (safe to re-run)."""
    result = demo.load_demo()
    table = Table(title="演示账号 / demo accounts")
    for column in ("用户 / user", "角色 / role", "密码 / password", "说明 / note"):
        table.add_column(column)
    for row in result.accounts:
        table.add_row(*row)
    console.print(table)
    console.print(f"企业 / enterprises: {result.enterprises}, 场所 / sites: {result.sites}")
