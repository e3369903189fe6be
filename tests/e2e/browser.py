"""Debian's Chromium driven by Playwright (no browser download), and where screenshots go."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("LANTIAN_CHROMIUM", "/usr/bin/chromium")
# The flags a sandboxed CI machine needs: no GPU, no sandbox as root, and no background
# connections (this machine's closed network refuses them, many at a time).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(
    os.environ.get("LANTIAN_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


def require_chromium() -> None:
    """`make test` installs Debian's chromium; without it the browser tests cannot run."""
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM} (make test installs Debian's chromium package)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Screenshots:
    """Numbered full-page screenshots of each page a test visits, kept as test artefacts."""

    def __init__(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.count = 0

    def take(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
