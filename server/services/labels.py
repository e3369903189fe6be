"""Printable QR labels for sites.

The QR code holds `{PUBLIC_URL}/s/{qr_token}`: a phone camera opens the site's page, and
the field client reads the token to pick the site offline. The site code is printed in
Latin letters so the label is readable with Pillow's built-in font; the Chinese name is
added when a CJK font is available on the machine.
"""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from server.models import Site

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def label_url(public_url: str, site: Site) -> str:
    return f"{public_url.rstrip('/')}/s/{site.qr_token}"


def _font(size: int, cjk: bool) -> tuple[ImageFont.ImageFont | ImageFont.FreeTypeFont, bool]:
    if cjk:
        for path in CJK_FONTS:
            if Path(path).exists():
                return ImageFont.truetype(path, size), True
    return ImageFont.load_default(size=size), False


def render_label(site: Site, public_url: str) -> bytes:
    """A PNG label: the QR code above the site code, name and address."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(label_url(public_url, site))
    qr.make(fit=True)
    code_image = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    width = code_image.width
    label = Image.new("RGB", (width, code_image.height + 130), "white")
    label.paste(code_image, (0, 0))
    draw = ImageDraw.Draw(label)
    big, _ = _font(30, cjk=False)
    draw.text((width // 2, code_image.height + 5), site.code, fill="black", font=big, anchor="ma")
    small, has_cjk = _font(20, cjk=True)
    caption = site.name if has_cjk else f"Site #{site.id} · Lantian Inspect"
    draw.text((width // 2, code_image.height + 50), caption, fill="black", font=small, anchor="ma")
    buffer = io.BytesIO()
    label.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
