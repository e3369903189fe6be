"""The 台账 (ledger) as an Excel workbook: findings, notices and inspections, one sheet each.

Frozen header rows, filters, sensible widths and real dates, so the district office can sort
and filter it in Excel or WPS without cleaning it first.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

import checklists as rules
from server.extensions import db
from server.models import Enterprise, Finding, Inspection, Notice, Site, User
from server.services import checklists as checklist_store
from server.services import law
from server.services.findings import FindingFilter, filtered, is_overdue, with_details
from server.services.timeutil import LOCAL_ZONE

if TYPE_CHECKING:
    from openpyxl import Workbook

# openpyxl is imported where a workbook is built, not when the server starts: most
# processes (every worker, every CLI command) never write one.
HEADER_COLOUR = "DDEBF7"


def _local(moment: datetime | None) -> datetime | None:
    """Excel has no time zones: write China time without an offset."""
    return moment.astimezone(LOCAL_ZONE).replace(tzinfo=None) if moment else None


def _sheet(
    workbook: Workbook, title: str, columns: list[tuple[str, int]], rows: list[list[Any]]
) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title)
    sheet.append([name for name, _ in columns])
    header_fill = PatternFill("solid", fgColor=HEADER_COLOUR)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                # openpyxl takes any text starting with "=" for a formula; names come from
                # users and registry CSVs ('=HYPERLINK(…)'), so every text is a string cell.
                cell.data_type = "s"
    for index, (_, width) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        for cell in sheet[letter][1:]:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _names(model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}


def build(user: User, wanted: FindingFilter) -> bytes:
    """The workbook for the findings the user may see, filtered as the findings API is."""
    findings = list(db.session.scalars(with_details(filtered(user, wanted)).order_by(Finding.id)))
    sites = _names(Site, {f.site_id for f in findings})
    enterprises = _names(Enterprise, {f.enterprise_id for f in findings})
    notices = _names(Notice, {f.notice_id for f in findings if f.notice_id})
    users = _names(
        User,
        {f.closed_by for f in findings if f.closed_by}
        | {f.inspection.inspector_id for f in findings},
    )
    sources = rules.load_sources()
    finding_rows = []
    # Each inspection is evaluated in its scope once, however many of its findings are listed.
    bases = law.findings_bases(findings)
    for finding in findings:
        item = checklist_store.get_rules(
            finding.checklist_id, finding.inspection.checklist_version
        ).item(finding.item_code)
        assert item is not None
        notice = notices.get(finding.notice_id) if finding.notice_id else None
        cited = bases[finding.id]
        basis = "；".join(f"{sources[b.source].number} {b.clause}" for b in cited)
        finding_rows.append(
            [
                finding.id,
                enterprises[finding.enterprise_id].name,
                sites[finding.site_id].name,
                finding.city,
                finding.district,
                finding.checklist_id,
                finding.item_code,
                item.text.zh,
                finding.answer.note,
                finding.severity,
                basis,
                _local(finding.created_at),
                notice.number if notice else None,
                finding.due_date,
                finding.status,
                "是" if is_overdue(finding) else "否",
                users[finding.closed_by].username if finding.closed_by else None,
                _local(finding.closed_at),
            ]
        )
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(
        workbook,
        "问题台账 Findings",
        [
            ("编号 id", 8),
            ("企业 enterprise", 28),
            ("场所 site", 24),
            ("城市 city", 8),
            ("区县 district", 10),
            ("检查表 checklist", 20),
            ("项 item", 8),
            ("内容 text", 40),
            ("现场记录 note", 36),
            ("严重程度 severity", 10),
            ("依据 basis", 36),
            ("发现时间 found", 17),
            ("通知书 notice", 22),
            ("整改期限 due", 12),
            ("状态 status", 10),
            ("逾期 overdue", 8),
            ("销号人 closed by", 12),
            ("销号时间 closed at", 17),
        ],
        finding_rows,
    )
    _sheet(
        workbook,
        "整改通知 Notices",
        [
            ("文号 number", 22),
            ("企业 enterprise", 28),
            ("统一社会信用代码 credit code", 22),
            ("城市 city", 8),
            ("下发时间 issued", 17),
            ("整改期限 deadline", 12),
            ("问题数 findings", 10),
            ("已销号 closed", 10),
        ],
        [
            [
                n.number,
                enterprises[n.enterprise_id].name,
                enterprises[n.enterprise_id].credit_code,
                n.city,
                _local(n.issued_at),
                n.deadline,
                len(n.findings),
                sum(1 for f in n.findings if f.status == "closed"),
            ]
            for n in sorted(notices.values(), key=lambda n: n.id)
        ],
    )
    inspections: dict[Any, Inspection] = {f.inspection_uuid: f.inspection for f in findings}
    _sheet(
        workbook,
        "检查记录 Inspections",
        [
            ("编号 id", 38),
            ("场所 site", 24),
            ("检查表 checklist", 20),
            ("版本 version", 18),
            ("检查员 inspector", 12),
            ("开始 started", 17),
            ("结束 finished", 17),
            ("状态 status", 10),
            ("修订 revision", 8),
            ("问题数 findings", 10),
        ],
        [
            [
                str(i.uuid),
                sites[i.site_id].name,
                i.checklist_id,
                i.checklist_version,
                users[i.inspector_id].username,
                _local(i.started_at),
                _local(i.finished_at),
                i.status,
                i.revision,
                sum(1 for f in findings if f.inspection_uuid == i.uuid),
            ]
            for i in sorted(inspections.values(), key=lambda i: i.started_at)
        ],
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
