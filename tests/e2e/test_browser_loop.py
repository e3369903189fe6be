"""The rectification loop in a real browser against the real server process.

A supervisor reviews an inspection and issues a notice; the enterprise follows the notice's
link, logs in, sees only its own notice and answers a finding with a photo; the supervisor
closes it; the dashboard shows the closure. Every page is saved as a screenshot in
test-artifacts/screenshots/<engine>/.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from tests.e2e.browser import ARTIFACTS, Screenshots, chromium
from tests.e2e.conftest import ServerProcess
from tests.helpers import PASSWORD, PHOTOS, approve, issue, submit_failing_inspection

FIX_PHOTO = PHOTOS / "no_exif.jpg"


def log_in(page: Page, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")


def images_loaded(page: Page, selector: str) -> bool:
    """Wait until every image matched has been fetched and decoded (previews load lazily)."""
    for image in page.locator(selector).all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(
        """selector => {
            const images = [...document.querySelectorAll(selector)];
            return images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);
        }""",
        arg=selector,
        timeout=15_000,
    )
    return True


def test_review_notice_answer_close_in_chromium(
    app: Flask,
    client: FlaskClient,
    headers: dict[str, Any],
    registry: dict[str, Any],
    approved: dict[str, Any],
    server_process: ServerProcess,
    engine_name: str,
) -> None:
    # Another enterprise's notice exists too: the portal must not show it.
    other_id, other = submit_failing_inspection(
        client, headers, registry["sites"]["CZ-boiler_house"]
    )
    approve(client, headers, other_id)
    other_notice = issue(
        client, headers, registry["changzhi"].id, [f["id"] for f in other.values()]
    ).get_json()["number"]
    server_process.env["LANTIAN_PHOTO_DIR"] = app.config["PHOTO_DIR"]  # the photos the test sent
    server_process.start()
    url = server_process.url
    shots = Screenshots(ARTIFACTS / "screenshots" / engine_name)

    with chromium() as browser:
        supervisor = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = supervisor.new_page()
        page.goto(f"{url}/review/")
        expect(page).to_have_url(f"{url}/review/login?next=/review/")
        shots.take(page, "review-login")
        log_in(page, "sup")
        expect(page.locator("h1")).to_contain_text("总览")

        # The queue, then the inspection with its answers, photos and the plan's words.
        page.click("header nav >> text=待审核 / Queue")
        shots.take(page, "review-queue")
        page.click(f"#queue a[href$='{approved['inspection']}']")
        expect(page.locator("#item-CB-10")).to_contain_text("不符合")
        assert images_loaded(page, "#answers img")
        page.click("#item-CB-10 summary")
        expect(page.locator("#item-CB-10 blockquote").first).to_be_visible()
        full_size = page.get_attribute("#item-CB-10 .photos a", "href")
        assert page.request.get(f"{url}{full_size}").headers["content-type"] == "image/jpeg"
        shots.take(page, "review-inspection")
        page.fill("#review-form textarea[name=comment]", "现场照片清楚，同意。")
        page.click("#review-form button[value=approve]")
        expect(page.locator(".flash")).to_contain_text("已通过")

        # Findings of one enterprise, ticked and issued as a notice.
        page.click("header nav >> text=问题清单 / Findings")
        page.select_option("select[name=enterprise_id]", str(approved["enterprise_id"]))
        page.click("#filters button[type=submit]")
        boxes = page.locator("input[name=finding_ids]")
        expect(boxes).to_have_count(2)
        for index in range(2):
            boxes.nth(index).check()
        shots.take(page, "review-findings")
        page.click("#notice-form button[type=submit]")
        expect(page.locator("#notice-number")).to_contain_text("朔环整〔2026〕")
        number = page.inner_text("#notice-number")
        portal_link = page.inner_text("dl.facts code")
        assert portal_link.startswith(f"{url}/portal/notices/")
        shots.take(page, "review-notice-issued")

        # The enterprise follows the notice's link: a login first, then only its own notice.
        enterprise = browser.new_context(locale="zh-CN", viewport={"width": 1024, "height": 1366})
        portal = enterprise.new_page()
        portal.goto(portal_link)
        expect(portal.locator("h1")).to_contain_text("企业整改平台")
        shots.take(portal, "portal-login")
        log_in(portal, "ent")
        expect(portal.locator("#notice-number")).to_have_text(number)
        assert images_loaded(portal, ".inspector-photos img")
        expect(portal.locator("blockquote").first).to_be_visible()
        expect(portal.locator(".remedy").first).to_contain_text("整改要求")
        shots.take(portal, "portal-notice")
        portal.click("header nav >> text=我的整改通知 / My notices")
        expect(portal.locator("#notices")).to_contain_text(number)
        expect(portal.locator("#notices")).not_to_contain_text(other_notice)
        shots.take(portal, "portal-home")
        portal.click(f"#notices >> text={number}")
        first = portal.locator("section.finding").first
        first.locator("textarea[name=text]").fill("已更换布袋除尘器并加装喷淋。")
        first.locator("input[name=photos]").set_input_files(str(FIX_PHOTO))
        first.locator("form.respond button[type=submit]").click()
        expect(portal.locator(".flash")).to_contain_text("已提交整改答复")
        expect(portal.locator("section.finding").first).to_contain_text("待核验 / answered")
        assert images_loaded(portal, "section.finding .response img")
        shots.take(portal, "portal-answered")

        # The supervisor closes the answered finding; the dashboard shows it.
        page.reload()
        answered = page.locator("section.finding", has=page.locator("form.verify"))
        expect(answered).to_have_count(1)
        expect(answered).to_contain_text("已更换布袋除尘器并加装喷淋。")
        answered.locator("textarea[name=comment]").fill("核验合格，予以销号。")
        answered.locator("button[value='1']").click()
        expect(page.locator(".flash")).to_contain_text("已销号")
        expect(page.locator("section.finding").first).to_contain_text("已销号 / closed")
        shots.take(page, "review-notice-closed")
        page.click("header nav >> text=总览 / Dashboard")
        expect(page.locator("#closed-findings")).to_have_text("1")
        expect(page.locator("#closure-rate")).to_have_text("25%")  # 1 of 4 findings
        closed_this_week = page.locator("#weekly-chart g[data-closed='1']")
        expect(closed_this_week).to_have_count(1)
        shots.take(page, "review-dashboard")

        # The enterprise sees the decision.
        portal.reload()
        expect(portal.locator("section.finding").first).to_contain_text("核验合格，予以销号。")
        shots.take(portal, "portal-closed")
    assert shots.count == 12
