"""Reading a site's QR label from a photo of it, offline: the CLI's `sites --qr` and the app.

The label holds `{PUBLIC_URL}/s/{qr_token}`; the token picks the site from the local cache.
Photos from an iPhone are HEIC, so the HEIF opener is registered before the photo is opened.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from field_client.errors import FieldError
from field_client.store import Store


def site_from_qr(store: Store, photo: Path) -> dict[str, Any]:
    """The cached site whose QR label is in the photo; FieldError says why there is none."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    import field_client.photos  # noqa: F401  (registers the HEIC opener)

    try:
        # A few kilobytes of PNG can declare 20000×10000 pixels: refused before decoding (as
        # the photo pipeline does), not decoded into gigabytes or left to crash the app.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(photo) as image:
                codes = zxingcpp.read_barcodes(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FieldError(f"图片尺寸过大 / the image is too large to read: {photo}") from None
    except FileNotFoundError:
        raise FieldError(f"照片文件不存在 / photo file not found: {photo}") from None
    except UnidentifiedImageError:
        raise FieldError(f"不是可识别的图片 / not a recognisable image: {photo}") from None
    except OSError as error:
        raise FieldError(f"无法读取照片 / cannot read the photo: {photo} ({error})") from None
    for code in codes:
        token = code.text.rstrip("/").rsplit("/", 1)[-1]
        site = store.site_by_qr_token(token)
        if site is not None:
            return site
    if not codes:
        raise FieldError("照片中没有二维码 / no QR code found in the photo")
    raise FieldError("二维码不对应本地场所，请先更新 / the code matches no cached site: pull first")
