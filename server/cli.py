"""`lantian-server`: the Flask CLI of this app (run, db upgrade, users, sites, demo, checklists,
audit, backup and restore)."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from checklists import ChecklistError, load_all, load_sources
from checklists.check import check_directory
from checklists.evaluate import served_items
from checklists.governance import stated_period_warnings
from checklists.scope import Scope
from checklists.scope_table import scope_table
from server import create_app
from server.extensions import db
from server.services import (
    accounts,
    audit,
    backup,
    checklists,
    demo,
    draws,
    inspectors,
    law,
    revisits,
    uploads,
)
from server.services.errors import DomainError
from server.services.sites_import import import_sites
from server.services.timeutil import LOCAL_ZONE
from server.storage import photo_store

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
@click.option("--badge", "badge_no", help="执法证号 of an inspector or supervisor")
@click.option("--email", help="where notifications and reminders are mailed")
@with_appcontext
def users_add(
    name: str,
    role: str,
    password: str,
    enterprise_id: int | None,
    city: str | None,
    badge_no: str | None,
    email: str | None,
) -> None:
    """Add a user with one role."""
    try:
        user = accounts.add_user(
            name, role, password, enterprise_id, city, badge_no=badge_no, email=email
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.errors.items())
        _fail(f"{error.message} ({details})" if details else error.message)
    console.print(f"已添加 / added user [bold]{user.username}[/bold] ({user.role}), id {user.id}")


@users.command("badge")
@click.argument("name")
@click.argument("badge_no", required=False, default="")
@with_appcontext
def users_badge(name: str, badge_no: str) -> None:
    """Record an inspector's or supervisor's 执法证号 (none given: clear it)."""
    try:
        user = accounts.set_badge(name, badge_no)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.errors.items())
        _fail(f"{error.message} ({details})" if details else error.message)
    shown = user.badge_no or "（无 / none）"
    console.print(f"[bold]{user.username}[/bold] 执法证号 / badge: {shown}")


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


@users.command("conflict")
@click.argument("name")
@click.argument("credit_code")
@click.option("--reason", default="", help="why the inspector is tied to the enterprise")
@with_appcontext
def users_conflict(name: str, credit_code: str, reason: str) -> None:
    """Declare an inspector tied to an enterprise: never drawn to inspect it."""
    try:
        inspectors.declare_conflict(name, credit_code, reason)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        _fail(error.message)
    console.print(f"已登记回避 / {name} will not be drawn for {credit_code}")


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
@click.option(
    "--directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="检查表目录（默认为随程序发布的规则）/ checklist directory (default: the shipped rules)",
)
def checklists_check(directory: Path | None) -> None:
    """Validate every checklist and prove it says what the pinned plans say.

    Checks the plan texts' SHA-256 pins, that each quote lies in the clause it cites, and that
    each limit and threshold appears in its plan's words; exits 1 listing every problem.
    """
    problems = check_directory(directory) if directory else check_directory()
    for problem in problems:
        err_console.print(problem, markup=False, highlight=False, soft_wrap=True)
    if problems:
        err_console.print(
            f"检查表与原文不符：{len(problems)} 个问题 / {len(problems)} problem(s) found"
        )
        sys.exit(1)
    console.print(
        "检查表全部有效：原文哈希一致，引文均在所引条款内，限值措辞与原文一致 / "
        "all checklists valid: plan texts match their pins, every quote found in the clause it "
        "cites, every limit worded as in its plan"
    )


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


@main.group("rules")
def rules_group() -> None:
    """现行计划 / The law in force: which plans govern which city, and what they serve."""


@rules_group.command("governing")
@click.option("--city", required=True, help="城市名称、别名或代码 / name, alias or GB/T 2260 code")
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="日期 / date (YYYY-MM-DD); today in China when absent",
)
@with_appcontext
def rules_governing(city: str, on: datetime | None) -> None:
    """Show which plans govern a city on a date, and which items they serve there."""
    try:
        declaration = law.governance()
    except ChecklistError as error:
        _fail(str(error))
    found = declaration.city(city)
    if found is None:
        known = ", ".join(f"{c.name} {c.code}" for c in declaration.cities)
        _fail(f"未知城市 / unknown city {city!r}; known: {known}")
    day = on.date() if on else law.parse_on(None)
    files = declaration.governing(found.code, day)
    sources = load_sources()
    console.print(f"{found.name}（{found.code}）{day.isoformat()}：")
    if not files:
        console.print("  无现行计划，不提供检查表 / no plan in force: no checklist is served")
    for file in files:
        source = sources[file]
        console.print(f"  《{source.title}》{source.number}（{source.date.isoformat()}） {file}")
    for warning in stated_period_warnings(declaration, day):
        if warning.startswith(found.name):
            err_console.print(f"  [yellow]注意 / note:[/yellow] {warning}")
    scope = Scope.of(declaration, found.code, day)
    for checklist in load_all().values():
        codes = [item.code for item in served_items(checklist, scope)]
        if codes:
            console.print(f"  {checklist.id}: {' '.join(codes)}")


@rules_group.command("table")
@with_appcontext
def rules_table() -> None:
    """Print the city × item table (markdown) that tests/checklists compares with its copy."""
    click.echo(scope_table(load_all(), law.governance()), nl=False)


@main.command("demo")
@click.option(
    "--no-inspections",
    is_flag=True,
    help="只建企业、场所和账号 / registry and accounts only (benchmarks count every row)",
)
@with_appcontext
def demo_command(no_inspections: bool) -> None:
    """Load checklists, a demo registry in four cities, demo users and two demo inspections
    (safe to re-run)."""
    result = demo.load_demo(with_inspections=not no_inspections)
    table = Table(title="演示账号 / demo accounts")
    for column in ("用户 / user", "角色 / role", "密码 / password", "说明 / note"):
        table.add_column(column)
    for row in result.accounts:
        table.add_row(*row)
    console.print(table)
    console.print(f"企业 / enterprises: {result.enterprises}, 场所 / sites: {result.sites}")
    console.print(
        f"演示检查 / demo inspections: {result.inspections} 新建 / new "
        "（一份已下发整改通知，一份待审核 / one in a notice, one waiting for review）"
    )


@main.group("audit")
def audit_group() -> None:
    """审计日志 / The tamper-evident audit log."""


def _anchor(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter(f"expected SEQ:SHA256, got {value!r}")
    return int(seq), digest.lower()


def _report(result: audit.Report) -> bool:
    """Print a verification; True when everything matched."""
    table = Table(title="审计核验 / audit verification", show_header=False)
    table.add_row("条目 / entries", str(result.entries))
    table.add_row("核对记录 / rows checked", str(result.rows_checked))
    table.add_row("核对照片 / photos hashed", str(result.photos_checked))
    table.add_row("待上传照片 / photos not uploaded yet", str(len(result.photos_pending)))
    console.print(table)
    # Unwrapped, so it can be copied whole and given back later as --anchor SEQ:HASH.
    click.echo(f"最新条目 / head: {result.head_seq}:{result.head_hash}")
    if result.ok:
        console.print(
            "[green]链完整，记录与照片均一致 / the chain is intact; every record and photo "
            "matches it[/green]"
        )
        return True
    # Plain lines, never wrapped, so the first mismatch can be read and grepped whole.
    first = result.problems[0]
    click.echo(f"不符 / MISMATCH at {first.entry}: {first.reason}", err=True)
    for problem in result.problems[1:20]:
        click.echo(f"  also {problem.entry}: {problem.reason}", err=True)
    if len(result.problems) > 20:
        click.echo(f"  … {len(result.problems) - 20} more", err=True)
    return False


@audit_group.command("verify")
@click.option("--strict", is_flag=True, help="Also fail photos cited but never uploaded.")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    callback=lambda _ctx, _param, values: [_anchor(v) for v in values],
    metavar="SEQ:HASH",
    help="An entry hash written down earlier (e.g. from a backup manifest) that must still be "
    "in the log.",
)
@with_appcontext
def audit_verify(strict: bool, anchors: list[tuple[int, str]]) -> None:
    """Recompute the hash chain and check the stored records and photos against it."""
    result = audit.verify(photo_store(), strict=strict, anchors=dict(anchors))
    if not _report(result):
        sys.exit(1)


@audit_group.command("checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Record the head of every chain in one entry, and print it for anchoring.

    Run it periodically (a timer, or with each backup): anchoring the printed SEQ:HASH
    vouches for every chain of the log up to this moment."""
    audit.record_checkpoint()
    db.session.commit()
    entry = audit.entries(1, ("audit", "checkpoint"))[-1]
    click.echo(f"检查点 / checkpoint: {entry.seq}:{entry.entry_hash}")


@audit_group.command("log")
@click.option("--last", default=20, show_default=True, help="How many entries.")
@click.option("--subject", metavar="TYPE:ID", help="Only one subject, e.g. finding:3.")
@with_appcontext
def audit_log(last: int, subject: str | None) -> None:
    """Show the latest entries, one per line (times in Asia/Shanghai)."""
    wanted = tuple(subject.split(":", 1)) if subject and ":" in subject else None
    for entry in audit.entries(last, wanted):  # type: ignore[arg-type]
        actor = audit.CLI_ACTOR if entry.actor_id is None else f"user:{entry.actor_id}"
        at = entry.at.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"#{entry.seq}  {at}  {actor:<9} {entry.action:<22} "
            f"{entry.subject_type}:{entry.subject_id}  {entry.entry_hash[:16]}"
        )


def _refuse(message: str) -> None:
    """An error on one unwrapped line: these messages carry paths and hashes."""
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(1)


@main.group("draws")
def draws_group() -> None:
    """双随机抽查 / Random inspection draws."""


@draws_group.command("verify")
@click.argument("draw_id", type=int)
@with_appcontext
def draws_verify(draw_id: int) -> None:
    """Re-derive an issued draw from its published record (docs/draws.md); exit 1 on any
    difference, each named."""
    try:
        draw, problems = draws.verify_stored(draw_id)
    except DomainError as error:
        _fail(error.message)
    if problems:
        click.echo(f"抽查 {draw_id} 验证失败 / draw {draw_id} does NOT verify:", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    sites = len(draw.result or [])
    click.echo(
        f"OK: 抽查 {draw_id} 可复现 / draw {draw_id} verifies: candidate_hash "
        f"{draw.candidate_hash}, secret_hash {draw.secret_hash}, seed {draw.seed}, "
        f"{sites} site(s) drawn and paired as published"
    )


@main.group("uploads")
def uploads_group() -> None:
    """Resumable (tus) uploads / 断点续传上传."""


@uploads_group.command("expire")
@click.option(
    "--older-than-hours",
    type=float,
    default=None,
    help="Age in hours (default: LANTIAN_UPLOAD_EXPIRY_HOURS, 72).",
)
@with_appcontext
def uploads_expire(older_than_hours: float | None) -> None:
    """Drop unfinished uploads older than the given age, and their partial files."""
    hours = (
        current_app.config["UPLOAD_EXPIRY_HOURS"] if older_than_hours is None else older_than_hours
    )
    if hours < 0:
        _refuse(f"--older-than-hours 不能为负 / --older-than-hours must not be negative: {hours}")
    dropped = uploads.expire(photo_store(), timedelta(hours=hours))
    click.echo(f"已删除 {dropped} 个过期的未完成上传 / expired {dropped} unfinished upload(s)")


@main.group("tasks")
def tasks_group() -> None:
    """Tasks (检查任务)."""


@tasks_group.command("schedule-revisits")
@click.option(
    "--on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to schedule for (default: today, China time).",
)
@with_appcontext
def tasks_schedule_revisits(on: datetime | None) -> None:
    """Create the due re-visit tasks of closed enterprises (两断三清); for cron, idempotent."""
    outcome = revisits.schedule(on.date() if on else None)
    for task in outcome.created:
        click.echo(f"任务 #{task.id}: {task.source_ref} 期限 / due {task.due_on.isoformat()}")
    for code, why in outcome.skipped:
        err_console.print(f"跳过 / skipped {code}: {why}")
    click.echo(
        f"新建复查任务 {len(outcome.created)} 个 / created {len(outcome.created)} re-visit task(s)"
    )


@main.command("backup")
@click.argument("directory", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Back up the database and the photos into DIRECTORY (new or empty), with a manifest."""
    try:
        manifest = backup.backup(directory, photo_store())
    except DomainError as error:
        _refuse(error.message)
    except (OSError, sqlite3.Error, SQLAlchemyError) as error:
        _refuse(f"{type(error).__name__}: {error}")
    head = manifest["audit_head"]
    console.print(
        f"已备份 / backed up {manifest['database']} (schema {manifest['alembic_revision']}, "
        f"{manifest['dump_bytes']} bytes) and {manifest['photo_count']} photo(s) to {directory}"
    )
    if head:
        click.echo(f"最新审计条目 / audit head: {head['seq']}:{head['entry_hash']}")
    if manifest["photos_not_matching_their_name"]:
        click.echo(
            f"警告 / warning: {len(manifest['photos_not_matching_their_name'])} photo(s) do not "
            "hash to their names (copied as found); run `lantian-server audit verify`",
            err=True,
        )


@main.command("restore")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database or photo store that holds data.")
@with_appcontext
def restore_command(directory: Path, force: bool) -> None:
    """Restore a backup made by `backup` into the configured database and photo store.

    Stop the server first. Everything in the backup is checked before anything is written;
    afterwards the audit log is verified against the restored records and photos.
    """
    try:
        result = backup.restore(directory, photo_store(), force)
    except DomainError as error:
        _refuse(error.message)
    except (OSError, sqlite3.Error, SQLAlchemyError) as error:
        _refuse(f"{type(error).__name__}: {error}")
    console.print(
        f"已恢复 / restored {result.manifest['database']} (schema {result.revision}) and "
        f"{result.photos} photo(s) from {directory}"
    )
    for note in result.notes:
        console.print(f"[yellow]{note}[/yellow]")
    if result.revision == result.head_revision and not _report(audit.verify(photo_store())):
        sys.exit(1)


def _add_notify_commands() -> None:
    from server.cli_notify import reminders_group, webhooks_group, worker_command

    for command in (reminders_group, webhooks_group, worker_command):
        main.add_command(command)


_add_notify_commands()
