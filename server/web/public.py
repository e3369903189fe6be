"""一公开: /public/ (no login) lists the approved results of 双随机 inspections, and
/public/results.csv gives the same rows. Nothing here names a person or shows a photo or a
note: the service reads only enterprise, day, checklist and finding counts."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, render_template
from flask.typing import ResponseReturnValue

from server.http_common.disposition import content_disposition
from server.services import draws, public_results
from server.services.errors import NotFound
from server.web.draw_pages import STATUS_LABELS

blp = Blueprint("public", __name__, url_prefix="/public")
CSV_HEADER = (
    "企业 / enterprise",
    "统一社会信用代码 / credit code",
    "检查日期 / date",
    "检查表 / checklist",
    "结果 / result",
    "问题数 / findings",
    "严重 / critical",
    "较重 / major",
    "一般 / minor",
)
# A cell a spreadsheet would run as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@blp.get("/")
def results() -> ResponseReturnValue:
    return render_template(
        "public/results.html",
        results=public_results.approved_double_random(),
        commitments=public_results.commitments(),
        authorities=public_results.authorities(),
        cancelled=public_results.cancelled_drawn_tasks(),
        published=draws.is_public,
        statuses=STATUS_LABELS,
    )


@blp.get("/draws/<int:draw_id>.json")
def draw_record(draw_id: int) -> ResponseReturnValue:
    """The published record of an issued draw, for anyone to re-run it (docs/draws.md): no
    login, no names (user ids and the pairs' 执法证号); 404 until the draw is issued."""
    try:
        record = draws.public_record(draw_id)
    except NotFound as missing:
        body = {
            "code": missing.status,
            "status": "Not Found",
            "error": missing.code.value,
            "message": missing.message,
        }
        return jsonify(body), missing.status
    response = jsonify(record)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blp.get("/results.csv")
def results_csv() -> ResponseReturnValue:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in public_results.approved_double_random():
        writer.writerow(
            [
                _cell(row.enterprise),
                row.credit_code,
                row.day.isoformat(),
                _cell(row.checklist),
                row.outcome_label,
                row.findings,
                row.by_severity.get("critical", 0),
                row.by_severity.get("major", 0),
                row.by_severity.get("minor", 0),
            ]
        )
    # With a byte-order mark, so that spreadsheet programs read the Chinese as UTF-8.
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": content_disposition("attachment", "results.csv"),
            "Cache-Control": "public, max-age=300",
        },
    )
