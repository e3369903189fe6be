"""`lantian-field`: capture inspections offline and sync them exactly once.

Every command takes --json for scripting; errors print a clear message and exit non-zero.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, Task, TextColumn
from rich.table import Table

import checklists as rules
from field_client import alerts, capture, credentials, sync
from field_client import tasks as field_tasks
from field_client.api import SyncApi
from field_client.errors import FieldError, NotLoggedIn
from field_client.home import resolve_home
from field_client.localtime import shown
from field_client.store import Store, now_iso

console = Console(soft_wrap=True)  # messages are never broken mid-line
errors = Console(stderr=True, soft_wrap=True)
INCOMPLETE_SYNC = 3


class Session:
    """What a command needs: options, the data directory and (lazily) the store and server."""

    def __init__(self, home_option: str | None, as_json: bool) -> None:
        self.home_option = home_option
        self.as_json = as_json
        self._store: Store | None = None

    @property
    def home(self) -> Path:
        return resolve_home(self.home_option)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.home)
        return self._store

    def api(self) -> SyncApi:
        saved = credentials.load(self.home)
        return SyncApi(saved["server"], saved["token"])

    def emit(self, data: Any, render: Callable[[], None]) -> None:
        if self.as_json:
            click.echo(json.dumps(data, ensure_ascii=False, default=str))
        else:
            render()


def command(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add --json to a command and turn FieldErrors into a message and an exit code."""

    @click.option("--json", "as_json", is_flag=True, help="machine-readable output")
    @click.pass_context
    @wraps(function)
    def wrapper(ctx: click.Context, *args: Any, as_json: bool, **kwargs: Any) -> Any:
        session: Session = ctx.obj
        session.as_json = session.as_json or as_json
        try:
            return function(session, *args, **kwargs)
        except FieldError as error:
            if session.as_json:
                click.echo(json.dumps({"error": str(error)}, ensure_ascii=False))
            else:
                errors.print(f"[red]错误 / error:[/red] {error}", highlight=False)
            sys.exit(error.exit_code)

    return wrapper


@click.group()
@click.option("--home", envvar="LANTIAN_FIELD_HOME", help="data directory")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def main(ctx: click.Context, home: str | None, as_json: bool) -> None:
    """蓝天巡检现场客户端 / Lantian Inspect field client (works offline)."""
    ctx.obj = Session(home, as_json)


def _server_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """An http(s) address: without a scheme, httpx would only say so in English."""
    if not value.lower().startswith(("http://", "https://")):
        raise click.BadParameter(
            f"服务器地址须以 http:// 或 https:// 开头，例如 https://{value.split('://')[-1]} / "
            "the server URL must start with http:// or https://"
        )
    return value


@main.command()
@click.option("--server", required=True, callback=_server_url, help="e.g. http://127.0.0.1:5000")
@click.option("--user", "username", required=True)
@click.option("--password", prompt=True, hide_input=True)
@command
def login(session: Session, server: str, username: str, password: str) -> None:
    """Log in and keep the token (owner-only file); the password is not stored."""
    api = SyncApi(server, None)
    try:
        answer = api.login(username, password)
        credentials.require_field_role(username, answer["role"])
    finally:
        api.close()
    credentials.save(
        session.home,
        {
            "server": server.rstrip("/"),
            "username": username,
            "role": answer["role"],
            "token": answer["token"],
            "expires_at": answer["expires_at"],
        },
    )
    data = {
        "server": server,
        "username": username,
        "role": answer["role"],
        "expires_at": answer["expires_at"],
    }
    session.emit(
        data,
        lambda: console.print(
            f"已登录 / logged in as [bold]{username}[/bold] ({answer['role']}) until "
            f"{shown(answer['expires_at'])}"
        ),
    )


@main.command()
@command
def pull(session: Session) -> None:
    """Fetch checklists, sites and review outcomes (only what changed)."""
    api = session.api()
    try:
        report = sync.pull(session.store, api)
    finally:
        api.close()
    data = {
        "checklists_updated": report.checklists_updated,
        "sites_changed": report.sites_changed,
        "returned": report.returned,
        "approved": report.approved,
        "alerts_in_force": report.alerts_in_force,
        "to_recheck": report.to_recheck,
        "open_tasks": report.open_tasks,
    }

    def render() -> None:
        console.print(
            f"检查表更新 / checklists updated: {', '.join(report.checklists_updated) or '-'}"
        )
        console.print(f"场所变更 / sites changed: {report.sites_changed}")
        console.print(f"在用重污染预警 / alerts in force: {report.alerts_in_force}")
        console.print(f"待复查问题 / open findings to check again: {report.to_recheck}")
        console.print(f"待办任务 / open tasks: {report.open_tasks}")
        for uuid in report.returned:
            console.print(f"[yellow]退回 / returned:[/yellow] {uuid}")

    session.emit(data, render)


@main.command("tasks")
@click.option("--pull/--no-pull", "refresh", default=True, help="ask the server first")
@command
def tasks_command(session: Session, refresh: bool) -> None:
    """Your open tasks (检查任务), earliest due first; offline: those last pulled."""
    if refresh:
        api = session.api()
        try:
            field_tasks.pull_tasks(session.store, api)
        finally:
            api.close()
    rows = [field_tasks.summary(task) for task in field_tasks.held(session.store)]

    def render() -> None:
        table = Table(
            "id", "事由 reason", "期限 due", "检查表 checklist", "场所 sites", "同组 team"
        )
        for row in rows:
            due = f"[red]{row['due_on']} 逾期[/red]" if row["overdue"] else row["due_on"]
            sites = "、".join(f"{s['code']}{' ✓' if s['done'] else ''}" for s in row["sites"])
            table.add_row(
                str(row["id"]),
                row["reason_label"],
                due,
                row["checklist_id"],
                sites,
                "、".join(row["inspectors"]),
            )
        console.print(table if rows else "没有待办任务 / no open tasks")

    session.emit(rows, render)


def _site_row(site: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "code", "name", "kind", "enterprise_name", "credit_code", "city", "district")
    row = {key: site[key] for key in keys}
    if "alert_level" in site:  # under an alert, with a reduction list: inspect it first
        row["alert_level"] = site["alert_level"]
        row["checklist"] = site["alert_checklist"]
    return row


@main.command()
@click.argument("query", required=False, default="")
@click.option(
    "--qr", "qr_photo", type=click.Path(path_type=Path), help="photo of a site's QR label"
)
@command
def sites(session: Session, query: str, qr_photo: Path | None) -> None:
    """Search cached sites by name, code, credit code, city or district; or read a QR label."""
    if qr_photo is not None:
        found = [_site_row(_site_from_qr(session.store, qr_photo))]
    else:
        store = session.store
        found = [_site_row(site) for site in alerts.order_sites(store, store.search_sites(query))]

    def render() -> None:
        table = Table(
            "id",
            "编码 code",
            "名称 name",
            "类型 kind",
            "企业 enterprise",
            "城市 city",
            "区县 district",
            "预警 alert",
        )
        for site in found:
            table.add_row(
                str(site["id"]),
                site["code"],
                site["name"],
                site["kind"],
                site["enterprise_name"],
                site["city"],
                site["district"],
                f"{site['alert_level']} → {site['checklist']}" if "alert_level" in site else "",
            )
        console.print(table)

    session.emit(found, render)


def _site_from_qr(store: Store, photo: Path) -> dict[str, Any]:
    from field_client.qr import site_from_qr

    return site_from_qr(store, photo)


@main.command()
@click.option("--site", "site_id", type=int, required=True)
@click.option("--checklist", "checklist_id", required=True)
@click.option("--lat", type=float)
@click.option("--lon", type=float)
@click.option("--accuracy", type=float, help="metres")
@command
def new(
    session: Session,
    site_id: int,
    checklist_id: str,
    lat: float | None,
    lon: float | None,
    accuracy: float | None,
) -> None:
    """Start an inspection offline; prints its id."""
    location = (lat, lon, accuracy) if lat is not None and lon is not None else None
    uuid = capture.start(session.store, site_id, checklist_id, location)
    prefilled = {}
    if checklist_id == alerts.CHECKLIST_ID:
        prefilled = alerts.prefill(session.store, uuid)
    session.emit({"id": uuid, "prefilled": prefilled}, lambda: click.echo(uuid))


def _verdict_text(verdict: rules.Verdict) -> str:
    colour = {"compliant": "green", "non_compliant": "red"}.get(verdict.value, "dim")
    return f"[{colour}]{capture.VERDICT_LABELS[verdict]}[/{colour}]"


# ignore_unknown_options: a negative number (`-5`) is the value, not an unknown option.
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("inspection")
@click.argument("item")
@click.argument("value")
@click.option("--note")
@click.option("--photo", "photos", multiple=True, type=click.Path(path_type=Path))
@command
def answer(
    session: Session,
    inspection: str,
    item: str,
    value: str,
    note: str | None,
    photos: tuple[Path, ...],
) -> None:
    """Answer one item (and attach photos); shows the verdict at once."""
    store = session.store
    uuid = store.resolve(inspection)
    if photos:
        capture.attach_photos(store, uuid, item, list(photos))
    if note is None:
        note = alerts.default_note(store, uuid, item)
    verdict = capture.answer(store, uuid, item, value, note)
    needs = [m.reason for m in capture.missing(store, uuid) if m.code == item]
    warning = alerts.power_warning(store, uuid, item, value)
    data = {"id": uuid, "item": item, "verdict": verdict.value, "missing": needs}
    if warning:
        data["warning"] = warning
    session.emit(
        data,
        lambda: console.print(
            f"{item}: {_verdict_text(verdict)}"
            + (f"  [yellow]{'; '.join(needs)}[/yellow]" if needs else "")
            + (f"  [red]{warning}[/red]" if warning else "")
        ),
    )


@main.command()
@click.argument("inspection")
@click.argument("item")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--watermark",
    is_flag=True,
    help="burn time, coordinates, site code and inspector into the photo",
)
@command
def photo(
    session: Session, inspection: str, item: str, paths: tuple[Path, ...], watermark: bool
) -> None:
    """Attach photos (files or folders of camera images) to an item."""
    store = session.store
    uuid = store.resolve(inspection)
    mark = None
    if watermark:
        mark = capture.watermark_lines(store, uuid, credentials.load(session.home)["username"])
    hashes = capture.attach_photos(store, uuid, item, list(paths), mark)
    session.emit(
        {"id": uuid, "item": item, "photos": hashes},
        lambda: console.print(
            f"已添加 {len(hashes)} 张照片 / attached {len(hashes)} photo(s) to {item}"
        ),
    )


def _describe(store: Store, uuid: str) -> dict[str, Any]:
    row = store.inspection(uuid)
    ctx, results = capture.results(store, uuid)
    answers = store.answers(uuid)
    photos = store.photos_of(uuid)
    gaps = {gap.code: gap.reason for gap in capture.missing(store, uuid)}
    items = []
    for item in ctx.checklist.items:
        result = results[item.code]
        items.append(
            {
                "item": item.code,
                "text": item.text.zh,
                "text_en": item.text.en,
                "value": answers.get(item.code, (None, ""))[0],
                "note": answers.get(item.code, (None, ""))[1],
                "verdict": result.verdict.value,
                "applicable": result.applicable,
                "photos": photos.get(item.code, []),
                "missing": gaps.get(item.code),
            }
        )
    return {
        "id": uuid,
        "state": row["state"],
        "site": _site_row(ctx.site),
        "checklist": ctx.checklist.id,
        "checklist_version": ctx.checklist.version,
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "review_status": row["review_status"],
        "review_comment": row["review_comment"],
        "last_error": row["last_error"],
        "items": items,
        "missing": [{"item": code, "reason": reason} for code, reason in gaps.items()],
    }


@main.command()
@click.argument("inspection")
@command
def show(session: Session, inspection: str) -> None:
    """Answers, verdicts, photos and what is still missing."""
    data = _describe(session.store, session.store.resolve(inspection))

    def render() -> None:
        console.print(
            f"[bold]{data['id']}[/bold]  {data['state']}  {data['site']['name']} "
            f"({data['site']['code']})  {data['checklist']}"
        )
        if data["review_comment"]:
            console.print(f"[yellow]审核意见 / review: {data['review_comment']}[/yellow]")
        if data["last_error"]:
            console.print(f"[red]{data['last_error']}[/red]")
        table = Table(
            "项 item", "内容 text", "答案 answer", "结论 verdict", "照片 photos", "缺 missing"
        )
        for item in data["items"]:
            verdict = rules.Verdict(item["verdict"])
            table.add_row(
                item["item"],
                item["text"][:40],
                "" if item["value"] is None else str(item["value"]),
                _verdict_text(verdict),
                str(len(item["photos"])),
                item["missing"] or "",
            )
        console.print(table)

    session.emit(data, render)


@main.command("list")
@command
def list_inspections(session: Session) -> None:
    """Every inspection on this device with its state and what is missing."""
    store = session.store
    rows = []
    for row in store.inspections():
        site = store.site(row["site_id"])
        rows.append(
            {
                "id": row["uuid"],
                "state": row["state"],
                "site": site["name"],
                "checklist": row["checklist_id"],
                "started_at": row["started_at"],
                "missing": len(capture.missing(store, row["uuid"])),
                "review_status": row["review_status"],
            }
        )

    def render() -> None:
        table = Table(
            "id", "状态 state", "场所 site", "检查表 checklist", "开始 started", "缺 missing"
        )
        for row in rows:
            table.add_row(
                row["id"][:8],
                row["state"],
                row["site"],
                row["checklist"],
                shown(row["started_at"]),
                str(row["missing"]),
            )
        console.print(table)

    session.emit(rows, render)


@main.command()
@click.argument("inspection")
@command
def finish(session: Session, inspection: str) -> None:
    """Freeze a complete inspection and queue it; lists what is missing otherwise."""
    uuid = session.store.resolve(inspection)
    capture.finish(session.store, uuid)
    session.emit(
        {"id": uuid, "state": "queued"},
        lambda: console.print(f"已完成，待同步 / finished and queued: {uuid}"),
    )


class _CountOrSize(ProgressColumn):
    """Bytes for the photos bar, a plain count for the inspections bar."""

    def render(self, task: Task) -> RenderableType:
        if task.fields.get("unit") == "bytes":
            return DownloadColumn().render(task)
        return f"{int(task.completed)}/{int(task.total or 0)}"


@main.command("sync")
@command
def sync_command(session: Session) -> None:
    """Push finished inspections and photos, pull outcomes; safe to interrupt and rerun."""
    store = session.store
    api = session.api()
    before = sync.outbox_size(store)
    columns = (TextColumn("{task.description}"), BarColumn(), _CountOrSize())
    pushed, pulled = sync.PushReport(), sync.PullReport()
    failure = None
    try:
        with Progress(*columns, console=errors, disable=session.as_json) as bar:
            photos = bar.add_task(
                "照片 / photos", total=before["photo_bytes"] or None, unit="bytes"
            )
            inspections = bar.add_task("检查 / inspections", total=before["inspections"] or None)

            def progress(kind: str, amount: int) -> None:
                bar.advance(photos if kind == "bytes" else inspections, amount)

            sync.push(store, api, progress, pushed)
        sync.pull_outcomes(store, api, pulled)
    except NotLoggedIn:
        raise
    except FieldError as error:
        failure = str(error)  # still say what went through and what is left
    finally:
        api.close()
    left = sync.outbox_size(store)
    if left["inspections"] == 0:
        with store.transaction() as db:
            store.set_meta("last_sync", now_iso(), db)
    data = {
        "synced": pushed.synced,
        "photos_sent": pushed.photos_sent,
        "photos_already_there": pushed.photos_already_there,
        "refused": pushed.refused,
        "returned": pulled.returned,
        "approved": pulled.approved,
        "left": left,
        "error": failure,
    }

    def render() -> None:
        if failure:
            errors.print(f"[red]错误 / error:[/red] {failure}", highlight=False)
        console.print(
            f"已同步 / synced: {len(pushed.synced)} inspection(s), {pushed.photos_sent} photo(s)"
        )
        if pushed.photos_already_there:
            console.print(
                f"服务器已有 / already on the server: {pushed.photos_already_there} photo(s)"
            )
        for uuid, reason in pushed.refused.items():
            console.print(f"[red]被拒绝 / refused {uuid[:8]}:[/red] {reason}")
        for uuid in pulled.returned:
            console.print(f"[yellow]退回 / returned:[/yellow] {uuid}")
        if left["inspections"]:
            console.print(
                f"[yellow]尚余 / left: {left['inspections']} inspection(s), "
                f"{left['photos']} photo(s)[/yellow]"
            )

    session.emit(data, render)
    if failure:
        sys.exit(1)
    if left["inspections"]:
        sys.exit(INCOMPLETE_SYNC)


@main.command()
@command
def status(session: Session) -> None:
    """Counts by state, the outbox, and the last successful sync."""
    store = session.store
    data = {
        "counts": store.counts(),
        "outbox": sync.outbox_size(store),
        "last_sync": store.meta("last_sync"),
    }

    def render() -> None:
        table = Table("状态 state", "数量 count")
        for state, count in data["counts"].items():
            table.add_row(state, str(count))
        console.print(table)
        outbox = data["outbox"]
        console.print(
            f"待发送 / outbox: {outbox['inspections']} inspection(s), "
            f"{outbox['photos']} photo(s), {outbox['photo_bytes']} bytes"
        )
        console.print(f"上次成功同步 / last successful sync: {shown(data['last_sync'])}")

    session.emit(data, render)


@main.command()
@click.argument("inspection")
@click.option("--all", "review_all", is_flag=True, help="also revisit answered items")
@command
def fill(session: Session, inspection: str, review_all: bool) -> None:
    """Walk the checklist item by item; leave with q and resume later."""
    from field_client.fill import run_fill

    store = session.store
    run_fill(store, store.resolve(inspection), console, review_all)


@main.command("record")
@click.argument("inspection")
@click.option("--inspector", "inspector_name", required=True, help="name of the inspector")
@click.option("--badge", default="", help="the inspector's 执法证号")
@click.option("--inspector2", "inspector2_name", default="", help="a second inspector")
@click.option("--badge2", default="", help="the second inspector's 执法证号")
@click.option("--representative", "representative_name", default="", help="enterprise's person")
@click.option("--position", "representative_position", default="")
@click.option("--phone", "representative_phone", default="")
@click.option("--refused", is_flag=True, help="the representative refused to sign")
@click.option("--witness", "witness_name", default="", help="witness of a refusal")
@click.option(
    "--signature",
    "signatures",
    multiple=True,
    metavar="ROLE=PNG",
    help="representative, witness, inspector or inspector2 = a PNG of the signature",
)
@command
def record_command(
    session: Session,
    inspection: str,
    inspector_name: str,
    badge: str,
    inspector2_name: str,
    badge2: str,
    representative_name: str,
    representative_position: str,
    representative_phone: str,
    refused: bool,
    witness_name: str,
    signatures: tuple[str, ...],
) -> None:
    """Attach the signed on-site record (现场检查笔录) before `finish`, as the app does."""
    from field_client import record

    store = session.store
    uuid = store.resolve(inspection)
    images: dict[str, bytes] = {}
    for given in signatures:
        role, _, path = given.partition("=")
        if role not in record.SIGNATURE_ROLES or not path:
            raise FieldError(
                f"签名参数应为 角色=文件 / --signature takes ROLE=PNG with ROLE one of "
                f"{', '.join(record.SIGNATURE_ROLES)}: {given!r}"
            )
        try:
            images[role] = Path(path).read_bytes()
        except OSError as error:
            raise FieldError(f"无法读取签名文件 / cannot read {path}: {error}") from None
    fields = {
        "inspector": {"name": inspector_name, "badge": badge},
        "inspector2": {"name": inspector2_name, "badge": badge2},
        "representative": {
            "name": representative_name,
            "position": representative_position,
            "phone": representative_phone,
        },
        "refused": refused,
        "witness": {"name": witness_name},
    }
    try:
        signed_in = credentials.load(session.home).get("username")
    except NotLoggedIn:
        signed_in = None
    saved = record.save(store, uuid, fields, images, signed_in=signed_in)
    session.emit(
        {"id": uuid, "record": saved},
        lambda: console.print(f"笔录已保存 / record kept for {uuid}; now `finish` it"),
    )


@main.command()
@click.option("--port", type=int, default=8470, show_default=True, help="port on 127.0.0.1")
@click.option("--no-browser", is_flag=True, help="do not open the browser")
@command
def app(session: Session, port: int, no_browser: bool) -> None:
    """The touch-screen field app in the browser, over this device's data (works offline)."""
    from field_client.app import serve

    url = f"http://127.0.0.1:{port}/"
    session.emit(
        {"url": url}, lambda: console.print(f"蓝天巡检现场应用 / field app: {url}", highlight=False)
    )
    serve(session.home, port, open_browser=not no_browser)
