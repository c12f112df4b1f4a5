"""The top bar's language switch in Chromium, with the keyboard, kept for the person."""

import pytest
from playwright.sync_api import expect

from conftest import make_user
from portal.models import UserPreference

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_switches_to_chinese_with_the_keyboard_and_keeps_it(page, log_in, browser, live_server):
    user = make_user("li-wei")
    log_in(user)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_label("Language").focus()
    page.keyboard.press("End")  # the last option: 简体中文
    page.keyboard.press("Tab")  # to the switch button
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("link", name="个人资料")).to_be_visible()
    assert page.url == f"{live_server.url}/"
    assert UserPreference.objects.get(user=user).language == "zh-hans"

    # A new browser with an English Accept-Language: Chinese again once signed in.
    other = browser.new_context(base_url=live_server.url, locale="en-US")
    try:
        second = other.new_page()
        second.goto("/login/")
        expect(second.get_by_role("heading", name="Log in to Wharf")).to_be_visible()
        second.get_by_label("Username").fill("li-wei")
        second.get_by_label("Password").fill("correct-horse-battery")
        with second.expect_navigation():
            second.get_by_role("button", name="Log in").click()
        expect(second.locator("html")).to_have_attribute("lang", "zh-hans")
    finally:
        other.close()


def test_the_browsers_language_is_the_default(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto("/login/")
        expect(page.get_by_role("heading", name="登录 Wharf")).to_be_visible()
    finally:
        context.close()
