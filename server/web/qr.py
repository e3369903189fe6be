"""Where a site label's QR code points: a small page naming the site."""

from __future__ import annotations

from flask import Blueprint, render_template_string

from server.services.registry import site_for_label

blp = Blueprint("qr", __name__)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ site.code }} · 蓝天巡检</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em">
<h1>{{ site.name }}</h1>
<p>场所编码 / Site code: <strong>{{ site.code }}</strong></p>
<p>{{ site.address }}</p>
<p>请使用蓝天巡检现场客户端扫描此码以选择场所。<br>
Scan this code with the Lantian Inspect field client to pick the site.</p>
</body></html>"""


@blp.route("/s/<string:token>")
def site_label(token: str) -> tuple[str, int]:
    """The public page of a label: only what is printed on the label itself."""
    site = site_for_label(token)
    if site is None:
        return "<p>二维码无效 / unknown code</p>", 404
    return render_template_string(PAGE, site=site), 200
