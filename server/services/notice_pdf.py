"""The 整改通知书 as a PDF, drawn with reportlab in an embedded font.

It states who issues it, to whom, for which findings, on which words of which plan, what must
be done by when, with a photo of each finding and a QR code to the enterprise portal.

Every glyph comes from one TrueType font shipped with the server (server/fonts, WenQuanYi
Micro Hei: CJK and Latin), embedded as a subset, so the notice prints the same on any
machine; no text is left to a reader's own Helvetica or STSong. Text of any length flows:
a finding's long note or quote is a run of paragraphs that split across pages, never a table
cell (a cell cannot split, and a tall one raised LayoutError).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import qrcode
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

import checklists as rules
from server.models import Enterprise, Finding, Notice, Site, User
from server.services import law
from server.services.thumbnails import preview
from server.services.timeutil import LOCAL_ZONE
from server.storage import PhotoStore

FONT = "WenQuanYiMicroHei"
FONT_FILE = Path(__file__).resolve().parent.parent / "fonts" / "wqy-microhei.ttc"
pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))

# A table sets its cells' font even when they hold only paragraphs and images: named here,
# or reportlab's default (Helvetica, not embedded) would be put in the PDF.
TABLE_STYLE = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT)]

STYLES = {
    "title": ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=1),
    "number": ParagraphStyle("number", fontName=FONT, fontSize=11, leading=16, alignment=1),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=16),
    "small": ParagraphStyle(
        "small", fontName=FONT, fontSize=8.5, leading=12, textColor=colors.HexColor("#444444")
    ),
    "head": ParagraphStyle("head", fontName=FONT, fontSize=11.5, leading=17, spaceBefore=6),
}


def issuing_office(city: str) -> str:
    return f"{city}市生态环境局"


def _p(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), STYLES[style])


def _qr(url: str) -> Image:
    buffer = io.BytesIO()
    qrcode.make(url, box_size=8, border=2).save(buffer)
    buffer.seek(0)
    return Image(buffer, width=38 * mm, height=38 * mm)


def _thumbnail(store: PhotoStore, sha256: str | None) -> Image | None:
    if not sha256 or not store.exists(sha256):
        return None
    data = preview(store, sha256)
    with PILImage.open(io.BytesIO(data)) as photo:
        width, height = photo.size
    scale = 45 * mm / max(width, height)
    return Image(io.BytesIO(data), width=width * scale, height=height * scale)


def _finding_block(
    index: int,
    finding: Finding,
    item: rules.Item,
    site: Site,
    inspector: User,
    store: PhotoStore,
    bases: tuple[rules.Basis, ...],
) -> KeepTogether:
    """One finding: a heading row beside its photo (short texts only), then every text that
    may be long (the inspector's note, the plan's quotes, the remedy) as flowing paragraphs."""
    sources = rules.load_sources()
    inspected = finding.inspection.started_at.astimezone(LOCAL_ZONE).date().isoformat()
    heading = [
        _p(f"{index}. {finding.item_code} {item.text.zh}", "head"),
        _p(item.text.en, "small"),
        _p(
            f"场所 / Site：{site.name}（{site.address}）　检查日期 / Inspected：{inspected}　"
            f"检查员 / Inspector：{inspector.display_name}",
            "small",
        ),
    ]
    photo = _thumbnail(store, finding.answer.photos[0] if finding.answer.photos else None)
    if photo is None:
        top: list[Any] = heading
    else:
        table = Table([[heading, photo]], colWidths=[125 * mm, 50 * mm])
        table.setStyle(TABLE_STYLE)
        top = [table]
    text: list[Any] = []
    answer = finding.answer
    if answer.note:
        text.append(_p(f"现场记录 / Note：{answer.note}", "small"))
    # Only the duties of plans governing the site's city on the inspection day.
    for basis in bases:  # the duties in force for the site, worked out once in `render`
        source = sources[basis.source]
        text.append(
            _p(
                f"依据 / Basis：《{source.title}》（{source.number}）{basis.clause}："
                f"“{basis.quote}”",
                "small",
            )
        )
    text.append(_p(f"整改要求 / Remedy：{item.remedy.zh}", "body"))
    text.append(_p(item.remedy.en, "small"))
    text.append(_p(f"整改期限 / Due：{finding.due_date.isoformat() if finding.due_date else ''}"))
    # Kept on one page when it fits; a longer block simply flows on.
    return KeepTogether([*top, *text, Spacer(1, 4 * mm)])


def render(
    notice: Notice,
    enterprise: Enterprise,
    findings: list[tuple[Finding, rules.Item, Site, User]],
    portal_url: str,
    store: PhotoStore,
) -> bytes:
    """The notice's PDF bytes."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=notice.number,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        initialFontName=FONT,  # the canvas's own default would put Helvetica in every page
    )
    issued = notice.issued_at.astimezone(LOCAL_ZONE)
    story: list[Any] = [
        _p(issuing_office(notice.city), "number"),
        _p("整改通知书", "title"),
        _p("Rectification notice", "number"),
        _p(notice.number, "number"),
        Spacer(1, 6 * mm),
        _p(f"{enterprise.name}："),
        _p(f"统一社会信用代码 / Credit code：{enterprise.credit_code}", "small"),
        Spacer(1, 3 * mm),
        _p(
            f"经现场检查，你单位存在以下 {len(findings)} 项问题。"
            f"请于 {notice.deadline.isoformat()} "
            "前逐项完成整改，并通过企业端逐项上传整改照片和说明。"
        ),
        _p(
            f"On inspection, {len(findings)} finding(s) were recorded at your sites. Rectify each "
            f"by {notice.deadline.isoformat()} and answer each one with photos in the enterprise "
            "portal.",
            "small",
        ),
    ]
    # Each inspection is evaluated in scope once; each finding's bases are used twice.
    by_id = law.findings_bases(finding for finding, *_ in findings)
    bases = [by_id[finding.id] for finding, *_ in findings]
    cited = [basis for found in bases for basis in found]
    story += [
        _p("依据文件 / Governing plans：" + "；".join(law.governing_documents(cited)), "small"),
        Spacer(1, 4 * mm),
    ]
    for index, ((finding, item, site, inspector), found) in enumerate(
        zip(findings, bases, strict=True), start=1
    ):
        story.append(_finding_block(index, finding, item, site, inspector, store, found))
    closing = Table(
        [
            [
                [
                    _p("扫码登录企业端查看并逐项答复（需登录）"),
                    _p(
                        "Scan to open this notice in the enterprise portal (login required).",
                        "small",
                    ),
                    _p(portal_url, "small"),
                    Spacer(1, 6 * mm),
                    _p(f"{issuing_office(notice.city)}　{issued:%Y年%m月%d日}"),
                ],
                _qr(portal_url),
            ]
        ],
        colWidths=[130 * mm, 45 * mm],
    )
    closing.setStyle(TABLE_STYLE)
    story += [Spacer(1, 6 * mm), closing]
    document.build(story)
    return buffer.getvalue()
