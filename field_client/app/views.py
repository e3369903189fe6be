"""The app's screens: start, site, answer, sync; every change goes through `capture`/`sync`.

A change is a form POST followed by a redirect (so reloading never repeats it); input the
store refuses re-renders the same screen with the message and status 422, having changed
nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import shutil
import tempfile
import uuid as uuid_module
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.utils import secure_filename

from field_client import capture, colleagues, credentials, qr, record, sync
from field_client import tasks as field_tasks
from field_client.api import SyncApi
from field_client.app import device, flags, screens
from field_client.app.syncer import Syncer
from field_client.errors import FieldError, NotLoggedIn
from field_client.store import OUTBOX, Store, now_iso

bp = Blueprint("field", __name__)
SHA256 = re.compile(r"^[0-9a-f]{64}$")
UNPROCESSABLE = 422


def store() -> Store:
    if "store" not in g:
        g.store = Store(current_app.config["FIELD_HOME"])
    return g.store


def home() -> Path:
    return current_app.config["FIELD_HOME"]


def syncer() -> Syncer:
    return current_app.extensions["field_syncer"]


def account() -> dict[str, Any] | None:
    try:
        return credentials.load(home())
    except NotLoggedIn:
        return None


def _float(name: str) -> float | None:
    try:
        value = float(request.args[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


# ---- start


@bp.get("/")
def start() -> Any:
    return render_start()


def render_start(error: str | None = None, status: int = 200) -> Any:
    local = store()
    query = request.args.get("q", "").strip()
    lat, lon = _float("lat"), _float("lon")
    if lat is None or lon is None:
        lat = lon = None
    sites = screens.sites_nearest_first(local, query, lat, lon)
    inspections = []
    for row in local.inspections():
        inspections.append(
            {
                "row": row,
                "site": local.site(row["site_id"]),
                "missing": len(capture.missing(local, row["uuid"]))
                if row["state"] in ("draft", "returned")
                else 0,
            }
        )
    inspections.sort(key=lambda i: i["row"]["updated_at"], reverse=True)
    return (
        render_template(
            "start.html",
            account=account(),
            last_pull=local.meta("app_last_pull"),
            checklists=len(local.checklist_etags()),
            site_count=len(local.search_sites("")),
            sites=sites,
            query=query,
            located=lat is not None,
            position_status=request.args.get("pos"),
            inspections=inspections,
            outbox=sync.outbox_size(local),
            tasks=field_tasks.held(local),
            error=error,
        ),
        status,
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    saved = account() or {}
    if request.method == "GET":
        return render_template("login.html", saved=saved, error=None)
    server = request.form.get("server", "").strip().rstrip("/")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not server.startswith(("http://", "https://")) or not username or not password:
        return render_template(
            "login.html",
            saved={"server": server, "username": username},
            error="请填写服务器地址（http://…）、用户名和密码 / enter the server address "
            "(http://…), user name and password",
        ), UNPROCESSABLE
    api = SyncApi(server, None)
    try:
        answer = api.login(username, password)
        credentials.require_field_role(username, answer["role"])
    except FieldError as error:
        return render_template(
            "login.html", saved={"server": server, "username": username}, error=str(error)
        ), UNPROCESSABLE
    finally:
        api.close()
    credentials.save(
        home(),
        {
            "server": server,
            "username": username,
            "role": answer["role"],
            "token": answer["token"],
            "expires_at": answer["expires_at"],
        },
    )
    remember_user(username)
    flash(f"已登录 / logged in as {username}")
    return redirect(url_for("field.start"), 303)


KNOWN_USERS = "app_known_users"


def known_users() -> dict[str, str]:
    """The users who logged in on this device, with the 执法证号 each last signed with."""
    return json.loads(store().meta(KNOWN_USERS, "{}") or "{}")


def remember_user(username: str, badge: str | None = None) -> None:
    users = known_users()
    users[username] = badge if badge is not None else users.get(username, "")
    with store().transaction() as db:
        store().set_meta(KNOWN_USERS, json.dumps(users, ensure_ascii=False), db)


@bp.post("/pull")
def pull() -> Any:
    local = store()
    try:
        saved = credentials.load(home())
        api = SyncApi(saved["server"], saved["token"])
        try:
            report = sync.pull(local, api)
        finally:
            api.close()
    except FieldError as error:
        return render_start(f"更新失败 / pull failed: {error}", UNPROCESSABLE)
    with local.transaction() as db:
        local.set_meta("app_last_pull", now_iso(), db)
    flash(
        f"已更新 / pulled: 检查表 checklists {len(report.checklists_updated)}, "
        f"场所 sites {report.sites_changed}, 退回 returned {len(report.returned)}"
    )
    return redirect(url_for("field.start"), 303)


class Upload:
    """Files from a form, written under the data directory for the photo pipeline to read."""

    def __init__(self, field: str) -> None:
        self.files = [f for f in request.files.getlist(field) if f and f.filename]
        incoming = home() / "incoming"
        incoming.mkdir(exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(dir=incoming))
        self.paths = []
        for index, upload in enumerate(self.files):
            name = secure_filename(upload.filename or "") or "photo"
            path = self.folder / f"{index:02d}-{name}"
            upload.save(path)
            self.paths.append(path)

    def __enter__(self) -> list[Path]:
        return self.paths

    def __exit__(self, *_: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@bp.post("/qr")
def read_qr() -> Any:
    with Upload("photo") as paths:
        if not paths:
            return render_start("请拍摄二维码 / take a photo of the QR label", UNPROCESSABLE)
        try:
            site = qr.site_from_qr(store(), paths[0])
        except FieldError as error:
            return render_start(str(error), UNPROCESSABLE)
    return redirect(url_for("field.site", site_id=site["id"]), 303)


# ---- site


@bp.get("/sites/<int:site_id>")
def site(site_id: int) -> Any:
    return render_site(site_id)


def render_site(site_id: int, error: str | None = None, status: int = 200) -> Any:
    local = store()
    try:
        found = local.site(site_id)
    except FieldError:
        return render_template(
            "error.html",
            error=f"本设备没有场所 {site_id} / site {site_id} is not on this device; "
            "请先更新 / pull first",
        ), 404
    ongoing = [row for row in local.inspections(("draft", "returned")) if row["site_id"] == site_id]
    return (
        render_template(
            "site.html",
            site=found,
            checklists=screens.applicable_checklists(local, found),
            ongoing=ongoing,
            failures=screens.earlier_failures(local, site_id),
            status_labels=screens.FINDING_STATUS_LABELS,
            error=error,
            new_draft_id=lambda: str(uuid_module.uuid4()),
        ),
        status,
    )


@bp.post("/sites/<int:site_id>/start")
def start_inspection(site_id: int) -> Any:
    local = store()
    position = device.position_from_form(request.form)
    try:
        local.site(site_id)
        uuid, created = capture.start_once(
            local,
            site_id,
            request.form.get("checklist", ""),
            request.form.get("draft", ""),
            position.as_location(),
        )
    except FieldError as error:
        return render_site(site_id, str(error), UNPROCESSABLE)
    if created:  # a second tap on 开始检查 opens the draft the first one made
        device.record(local, uuid, device.INSPECTION, position)
    return redirect(url_for("field.inspection", uuid=uuid), 303)


# ---- answer


def _inspection_or_404(uuid: str) -> None:
    try:
        store().inspection(uuid)
    except FieldError:
        abort(404)


@bp.get("/inspections/<uuid>")
def inspection(uuid: str) -> Any:
    return render_inspection(uuid)


def render_inspection(
    uuid: str, error: str | None = None, status: int = 200, error_item: str | None = None
) -> Any:
    _inspection_or_404(uuid)
    local = store()
    screen = screens.inspection_screen(local, uuid)
    positions = device.positions(local, uuid)
    return (
        render_template(
            "inspection.html",
            screen=screen,
            uuid=uuid,
            editable=screen.row["state"] in ("draft", "returned"),
            start_position=positions.get(device.INSPECTION),
            flags=flags.flags_for(local, uuid, positions),
            error=error,
            error_item=error_item,
        ),
        status,
    )


def _back(uuid: str, item: str | None = None) -> Any:
    anchor = f"#item-{item}" if item else ""
    return redirect(url_for("field.inspection", uuid=uuid) + anchor, 303)


@bp.post("/inspections/<uuid>/answer")
def answer(uuid: str) -> Any:
    _inspection_or_404(uuid)
    item = request.form.get("item", "")
    value = request.form.get("value", "")
    note = request.form.get("note")
    if not value.strip():
        current = store().answers(uuid).get(item)
        if current is None:
            return render_inspection(uuid, "请先作答 / answer the item first", UNPROCESSABLE, item)
        value = screens.raw_value(current[0])
    try:
        capture.answer(store(), uuid, item, value, note)
    except FieldError as error:
        return render_inspection(uuid, str(error), UNPROCESSABLE, item)
    return _back(uuid, item)


@bp.post("/inspections/<uuid>/photos")
def add_photos(uuid: str) -> Any:
    _inspection_or_404(uuid)
    local = store()
    item = request.form.get("item", "")
    position = device.position_from_form(request.form)
    with Upload("photos") as paths:
        if not paths:
            return render_inspection(uuid, "没有选择照片 / no photo chosen", UNPROCESSABLE, item)
        try:
            hashes = capture.attach_photos(local, uuid, item, paths)
        except FieldError as error:
            return render_inspection(uuid, str(error), UNPROCESSABLE, item)
    try:
        for sha in hashes:
            device.record(local, uuid, sha, position)
    except FieldError:
        pass  # finished meanwhile (another tab): the photo stays, flagged as without position
    return _back(uuid, item)


@bp.post("/inspections/<uuid>/photos/remove")
def remove_photo(uuid: str) -> Any:
    _inspection_or_404(uuid)
    item = request.form.get("item", "")
    try:
        capture.detach_photo(store(), uuid, item, request.form.get("sha256", ""))
    except FieldError as error:
        return render_inspection(uuid, str(error), UNPROCESSABLE, item)
    return _back(uuid, item)


# ---- the signed on-site record, then finish


@bp.get("/inspections/<uuid>/record")
def record_screen(uuid: str) -> Any:
    _inspection_or_404(uuid)
    gaps = capture.missing(store(), uuid)
    if gaps:
        lines = "\n".join(f"{gap.code}: {gap.reason}" for gap in gaps)
        return render_inspection(uuid, f"尚未完成 / not complete yet:\n{lines}", UNPROCESSABLE)
    return render_record(uuid)


def render_record(uuid: str, error: str | None = None, status: int = 200, form: Any = None) -> Any:
    local = store()
    screen = screens.inspection_screen(local, uuid)
    failures = [card for card in screen.cards if card.result.verdict.value == "non_compliant"]
    saved = account() or {}
    return (
        render_template(
            "record.html",
            screen=screen,
            uuid=uuid,
            failures=failures,
            inspector=saved.get("username", ""),
            known=known_users(),
            colleagues=colleagues.colleagues(local),
            start_position=device.positions(local, uuid).get(device.INSPECTION),
            now=now_iso(),
            form=form or {},
            error=error,
        ),
        status,
    )


def _signature(name: str) -> bytes:
    """A canvas's PNG from its data URL; anything else is handed on to be refused."""
    value = request.form.get(f"signature_{name}", "")
    prefix = "data:image/png;base64,"
    if not value:
        return b""
    if not value.startswith(prefix):
        return value.encode()
    try:
        return base64.b64decode(value[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


@bp.post("/inspections/<uuid>/record")
def sign_and_finish(uuid: str) -> Any:
    """Keep the signed record, then freeze the inspection for sync."""
    _inspection_or_404(uuid)
    form = request.form
    fields = {
        "inspector": {"name": form.get("inspector_name"), "badge": form.get("inspector_badge")},
        "inspector2": {
            "name": form.get("inspector2_name"),
            "badge": form.get("inspector2_badge"),
        },
        "representative": {
            "name": form.get("representative_name"),
            "position": form.get("representative_position"),
            "phone": form.get("representative_phone"),
        },
        "refused": form.get("refused") == "yes",
        "witness": {"name": form.get("witness_name"), "phone": form.get("witness_phone")},
    }
    signatures = {role: _signature(role) for role in record.SIGNATURE_ROLES}
    local = store()
    try:
        if capture.missing(local, uuid):
            return record_screen(uuid)
        kept = record.save(
            local, uuid, fields, signatures, signed_in=(account() or {}).get("username")
        )
        capture.finish(local, uuid)
        for person in kept["inspectors"]:
            remember_user(person["name"], person["badge"])
    except FieldError as error:
        return render_record(uuid, str(error), UNPROCESSABLE, form)
    flash("笔录已签署，检查已完成，待同步 / record signed, inspection finished: waiting to sync")
    return redirect(url_for("field.sync_screen"), 303)


@bp.get("/photos/<sha>.jpg")
def photo(sha: str) -> Any:
    if not SHA256.match(sha) or not store().photo_path(sha).is_file():
        abort(404)
    return send_file(store().photo_path(sha), mimetype="image/jpeg", max_age=86400)


# ---- sync


@bp.get("/sync")
def sync_screen() -> Any:
    local = store()
    rows = local.inspections()
    returned = [r for r in rows if r["state"] == "returned"]
    approved = [r for r in rows if r["review_status"] == "approved"]
    waiting = local.inspections(OUTBOX)
    sites = {r["site_id"]: local.site(r["site_id"]) for r in rows}
    return render_template(
        "sync.html",
        account=account(),
        outbox=sync.outbox_size(local),
        waiting=waiting,
        returned=returned,
        approved=approved,
        sites=sites,
        last_sync=local.meta("last_sync"),
        state=syncer().snapshot(),
    )


@bp.post("/sync")
def start_sync() -> Any:
    if account() is None:
        flash("请先登录 / log in first")
        return redirect(url_for("field.login"), 303)
    syncer().start()
    return redirect(url_for("field.sync_screen"), 303)


@bp.get("/sync/progress")
def sync_progress() -> Any:
    return jsonify(syncer().snapshot())
