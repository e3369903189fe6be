"""The 现场检查笔录 (on-site inspection record) of an inspection as a PDF.

Time, place, the inspectors, the enterprise's representative (or the refusal to sign and
its witness), each finding with the plan's words and the remedy, the signature images and
a QR code to the inspection. An inspection synced without a record (from the CLI) gets the
same document saying that it carries no signatures.

Chinese text uses an embedded TrueType font (the packaged WenQuanYi Micro Hei, or
LANTIAN_RECORD_FONT),
subset into the file, so the record reads the same on any viewer; without that font file
reportlab's built-in STSong-Light CID font is used (named, not embedded).
"""

from __future__ import annotations

import io
import os
from datetime import datetime
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
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table

import checklists as rules
from server.models import Inspection, User
from server.services import law
from server.services.timeutil import LOCAL_ZONE
from server.storage import PhotoStore

# The font the notice embeds too, shipped with the package so every machine prints the same.
DEFAULT_FONT_FILE = Path(__file__).resolve().parent.parent / "fonts" / "wqy-microhei.ttc"
EMBEDDED = "RecordCJK"
FALLBACK = "STSong-Light"


def _font() -> str:
    """The embedded font when its file is there, else the built-in CID font."""
    if EMBEDDED in pdfmetrics.getRegisteredFontNames():
        return EMBEDDED
    path = Path(os.environ.get("LANTIAN_RECORD_FONT", DEFAULT_FONT_FILE))
    if path.is_file():
        pdfmetrics.registerFont(TTFont(EMBEDDED, str(path), subfontIndex=0))
        return EMBEDDED
    if FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FALLBACK


def _styles(font: str) -> dict[str, ParagraphStyle]:
    grey = colors.HexColor("#444444")
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, alignment=1),
        "sub": ParagraphStyle("sub", fontName=font, fontSize=10, leading=14, alignment=1),
        "body": ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16),
        "small": ParagraphStyle("small", fontName=font, fontSize=8.5, leading=12, textColor=grey),
        "head": ParagraphStyle("head", fontName=font, fontSize=11.5, leading=17, spaceBefore=6),
    }


def record_url(public_url: str, inspection: Inspection) -> str:
    """Where the QR code leads: the inspection on the review pages (login required)."""
    return f"{public_url.rstrip('/')}/review/inspections/{inspection.uuid}"


def _qr(url: str) -> Image:
    buffer = io.BytesIO()
    qrcode.make(url, box_size=8, border=2).save(buffer)
    buffer.seek(0)
    return Image(buffer, width=34 * mm, height=34 * mm)


def _signature(store: PhotoStore, sha256: str | None) -> Image | str:
    if not sha256 or not store.exists(sha256):
        return "（签名未上传 / signature not uploaded）" if sha256 else ""
    data = store.get(sha256)
    with PILImage.open(io.BytesIO(data)) as image:
        width, height = image.size
    scale = min(60 * mm / width, 22 * mm / height)
    return Image(io.BytesIO(data), width=width * scale, height=height * scale)


def _local_time(text: str | None) -> str | None:
    """A stored UTC time as China time, as every other time on the record is shown."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return f"{moment.astimezone(LOCAL_ZONE):%Y年%m月%d日 %H:%M}"


def _person(raw: dict[str, Any] | None) -> str:
    if not raw or not raw.get("name"):
        return "—"
    extra = [raw.get(k) for k in ("position", "badge", "phone") if raw.get(k)]
    return f"{raw['name']}（{'，'.join(extra)}）" if extra else raw["name"]


def render(
    inspection: Inspection,
    checklist: rules.Checklist,
    inspector: User,
    public_url: str,
    store: PhotoStore,
) -> bytes:
    """The record's PDF bytes."""
    styles = _styles(_font())

    def p(text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), styles[style])

    site = inspection.site
    enterprise = site.enterprise
    record = inspection.record
    started = inspection.started_at.astimezone(LOCAL_ZONE)
    finished = inspection.finished_at.astimezone(LOCAL_ZONE)
    place = f"{site.name}（{site.code}）{enterprise.city}{enterprise.district}{site.address}"
    if inspection.lat is not None and inspection.lon is not None:
        place += f"　定位 / GPS {inspection.lat:.5f}, {inspection.lon:.5f}"
        if inspection.accuracy_m is not None:
            place += f" ±{inspection.accuracy_m:.0f} m"
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"现场检查笔录 {inspection.uuid}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    inspectors = (
        "；".join(_person(person) for person in record["inspectors"])
        if record
        else inspector.display_name or inspector.username
    )
    story: list[Any] = [
        p("现场检查笔录", "title"),
        p("On-site inspection record", "sub"),
        p(f"检查编号 / Inspection：{inspection.uuid}", "sub"),
        Spacer(1, 5 * mm),
        p(f"被检查单位 / Enterprise：{enterprise.name}（{enterprise.credit_code}）"),
        p(f"检查地点 / Place：{place}"),
        p(f"检查时间 / Time：{started:%Y年%m月%d日 %H:%M} 至 {finished:%H:%M}"),
        p(f"检查表 / Checklist：{checklist.title.zh}（{checklist.id}@{checklist.version}）"),
        p(f"检查人员 / Inspectors：{inspectors}"),
    ]
    if record:
        story.append(p(f"企业在场人员 / Representative：{_person(record.get('representative'))}"))
    failures = [a for a in inspection.answers if a.verdict == rules.Verdict.NON_COMPLIANT.value]
    sources = rules.load_sources()
    # Only the duties in force where and when the site was inspected: the plans governing its
    # city that day, and of those the quotes whose conditions held (as findings and notices
    # cite them) — never another city's plan.
    bases = law.inspection_bases(inspection)
    cited = [basis for answer in failures for basis in bases.get(answer.item_code, ())]
    if cited:
        story.append(p("依据文件 / Governing plans：" + "；".join(law.governing_documents(cited))))
    story += [Spacer(1, 3 * mm), p(f"发现的问题 / Findings：{len(failures)} 项", "head")]
    if not failures:
        story.append(p("未发现问题 / no findings"))
    for index, answer in enumerate(failures, start=1):
        item = checklist.item(answer.item_code)
        if item is None:
            continue
        story.append(p(f"{index}. {answer.item_code} {item.text.zh}", "body"))
        if answer.note:
            story.append(p(f"现场记录 / Note：{answer.note}", "small"))
        for basis in bases.get(answer.item_code, ()):
            source = sources.get(basis.source)
            number = source.number if source else basis.source
            story.append(p(f"依据 / Basis：{number} {basis.clause}：“{basis.quote}”", "small"))
        story.append(
            p(f"整改要求 / Remedy：{item.remedy.zh}（{item.days_to_rectify} 日内 / days）", "small")
        )
    story += [Spacer(1, 4 * mm), p("签名 / Signatures", "head")]
    if record and len(record["inspectors"]) < 2:
        story.append(
            p(
                "注：本笔录仅一名执法人员签名（法定执法人员不少于两人）。/ Note: one officer "
                "signed this record; the law asks for at least two.",
                "small",
            )
        )
    if not record:
        story.append(
            p(
                "本检查经命令行客户端同步，无现场签名。/ This inspection was synced from the "
                "command-line client and carries no on-site signatures."
            )
        )
    else:
        rows: list[list[Any]] = []
        if record.get("refused"):
            rows.append([p("企业在场人员 / Representative"), p("拒绝签字 / refused to sign")])
            rows.append(
                [
                    p(f"见证人 / Witness：{_person(record.get('witness'))}"),
                    _signature(store, record.get("witness_signature")),
                ]
            )
        else:
            rows.append(
                [
                    p(f"企业在场人员 / Representative：{_person(record.get('representative'))}"),
                    _signature(store, record.get("representative_signature")),
                ]
            )
        for person, sha in zip(
            record["inspectors"], record.get("inspector_signatures") or [], strict=False
        ):
            rows.append([p(f"检查人员 / Inspector：{_person(person)}"), _signature(store, sha)])
        signed = _local_time(record.get("signed_at"))
        table = Table(rows, colWidths=[100 * mm, 70 * mm])
        table.setStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
            ]
        )
        story += [table, p(f"签署时间 / Signed at：{signed or '—'}", "small")]
    url = record_url(public_url, inspection)
    closing = Table(
        [
            [
                [
                    p("扫码查看本次检查（需登录）/ Scan to open this inspection (login required)"),
                    p(url, "small"),
                ],
                _qr(url),
            ]
        ],
        colWidths=[130 * mm, 40 * mm],
    )
    closing.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])
    story += [Spacer(1, 6 * mm), closing]
    document.build(story)
    return buffer.getvalue()
