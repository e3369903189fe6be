"""Driving `lantian-field app` as a real process in Debian's Chromium on a phone screen."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page

from tests.e2e.conftest import Field, LocalProcess

PHONE = {"width": 390, "height": 844}
SITE_POSITION = {"latitude": 39.33, "longitude": 112.43, "accuracy": 12}


class AppProcess(LocalProcess):
    """`lantian-field app --no-browser` on a loopback port; it can be killed with -9."""

    name = "app"
    ready_path = "/sync/progress"

    def __init__(self, field: Field, log: Path) -> None:
        super().__init__(log, field.env)
        self.field = field

    def command(self) -> list[str]:
        return self.field.command("app", "--port", str(self.port), "--no-browser")


def phone(browser: Browser, located: bool = True) -> BrowserContext:
    """A 390×844 touch screen in zh-CN; the position granted and set, or refused."""
    if located:
        return browser.new_context(
            viewport=PHONE,
            has_touch=True,
            is_mobile=True,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            geolocation=SITE_POSITION,
            permissions=["geolocation"],
        )
    return browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, locale="zh-CN", permissions=[]
    )


class Taps:
    """Every tap and photo taken goes through here, so the test can count them."""

    def __init__(self) -> None:
        self.count = 0

    def tap(self, target: Locator) -> None:
        self.count += 1
        target.tap()

    def photos(self, page: Page, code: str, files: list[Path], camera: bool = True) -> None:
        """One tap on the camera button per photo taken (the shutter is the camera's)."""
        self.count += len(files)
        kind = "camera" if camera else "gallery"
        page.set_input_files(f"#item-{code} .{kind} input", [str(f) for f in files])


def sign(page: Page, name: str) -> None:
    """Draw a signature on the named canvas with pointer moves (a finger or a mouse)."""
    canvas = page.locator(f"canvas[data-name={name}]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + step * 25, y + (25 if step % 2 else -25), steps=4)
    page.mouse.up()


def pdf_text_and_qr(data: bytes) -> tuple[str, list[str]]:
    """The PDF's text (pdfminer) and the QR codes on its pages (pypdfium2 and zxing-cpp)."""
    import io

    import pypdfium2
    import zxingcpp
    from pdfminer.high_level import extract_text

    text = extract_text(io.BytesIO(data))
    codes = []
    document = pypdfium2.PdfDocument(data)
    for page in document:
        image = page.render(scale=3).to_pil()
        codes += [code.text for code in zxingcpp.read_barcodes(image)]
    return text, codes


def phone_screen(page: Page, folder: Path, name: str, at: str | None = None) -> Path:
    """What the phone's screen shows (not the whole page), scrolled to `at` if given."""
    if at is not None:
        page.locator(at).evaluate("element => element.scrollIntoView({block: 'start'})")
        page.evaluate("window.scrollBy(0, -110)")  # below the sticky header and progress bar
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"screen-{name}.png"
    page.screenshot(path=str(path))
    return path
