"""Dialogs and htmx requests in Chromium: one request per double click, a toast for every failure
(network, 500, 403), focus back on the opener, the ⋮ menu closing, and the bind dialog with
hundreds of workspaces. Fixtures and the page object come from test_browser_bind."""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from portal.models import AuditEvent
from registries import services
from registries.models import SpaceBinding
from registries.tests import test_browser_bind
from registries.tests.test_browser_bind import BIND_TOAST, SpacePage, element_on_top
from workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The seed walk's fixtures: an Admin, and a demo registry with team-private and four workspaces.
admin_user = test_browser_bind.admin_user
demo_registry = test_browser_bind.demo_registry

NETWORK_ERROR = "The server could not be reached; nothing was saved."
SERVER_ERROR = "Something went wrong on the server, so this did not work."
FORBIDDEN = "You do not have permission to do this."


def open_spaces(page, log_in, user, registry, space):
    log_in(user)
    page.goto(f"/registries/{registry.pk}/spaces/")
    return SpacePage(page, space)


def bindings_posts(page):
    posts = []
    page.on(
        "request",
        lambda request: (
            posts.append(request.url)
            if request.method == "POST" and request.url.endswith("/bindings/")
            else None
        ),
    )
    return posts


def test_double_click_on_ok_sends_one_request(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    posts = bindings_posts(page)
    spaces.open_bind_dialog()
    spaces.search_and_check("pay", "payments")
    spaces.clear_toasts()
    spaces.dialog.get_by_role("button", name="OK", exact=True).dblclick()
    expect(spaces.toasts.get_by_text(BIND_TOAST)).to_have_count(1)
    expect(spaces.dialog).to_be_hidden()
    page.wait_for_timeout(300)  # a second request would have been sent by now
    assert len(posts) == 1
    assert SpaceBinding.objects.filter(space=space).count() == 1
    assert AuditEvent.objects.filter(action="space.bind").count() == 1


def test_ok_is_disabled_while_the_request_is_under_way(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    held = []
    page.route(
        "**/bindings/",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    spaces.open_bind_dialog()
    spaces.search_and_check("pay", "payments")
    ok = spaces.dialog.get_by_role("button", name="OK", exact=True)
    ok.click()
    expect(ok).to_be_disabled()
    expect(spaces.dialog.locator("form")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#request-indicator")).to_have_class(re.compile(r"\bhtmx-request\b"))
    assert len(held) == 1
    held[0].continue_()
    expect(spaces.dialog).to_be_hidden()
    expect(page.locator("#request-indicator")).not_to_have_class(re.compile(r"\bhtmx-request\b"))


def test_network_failure_shows_a_toast_in_the_dialog(page, page_errors, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    page_errors.allow(r"net::ERR_FAILED|Failed to load resource|htmx:sendError|htmx:afterRequest")
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    page.route(
        "**/bindings/", lambda route: route.abort() if route.request.method == "POST" else route.continue_()
    )
    spaces.open_bind_dialog()
    spaces.search_and_check("pay", "payments")
    spaces.clear_toasts()
    ok = spaces.dialog.get_by_role("button", name="OK", exact=True)
    ok.click()
    error = spaces.toasts.get_by_role("alert").filter(has_text=NETWORK_ERROR)
    expect(error).to_be_visible()
    assert element_on_top(page, error)
    # The dialog keeps the choice, and OK works again for a retry.
    expect(spaces.dialog).to_be_visible()
    expect(spaces.chips()).to_have_count(1)
    expect(ok).to_be_enabled()
    assert not SpaceBinding.objects.exists()


def test_server_error_shows_a_toast(page, page_errors, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    page_errors.allow(r"status of 500|Response Status Error Code 500")
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    page.route(
        "**/bindings/",
        lambda route: (
            route.fulfill(status=500, body="<h1>Server Error (500)</h1>")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    spaces.open_bind_dialog()
    spaces.search_and_check("pay", "payments")
    spaces.clear_toasts()
    spaces.dialog.get_by_role("button", name="OK", exact=True).click()
    expect(spaces.toasts.get_by_role("alert").filter(has_text=SERVER_ERROR)).to_be_visible()
    expect(spaces.dialog).to_be_visible()


def test_forbidden_shows_a_toast(page, page_errors, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    page_errors.allow(r"status of 403|Response Status Error Code 403")
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    spaces.open_bind_dialog()
    spaces.search_and_check("pay", "payments")
    # Another Admin takes the Admin role away while the dialog is open: the server says 403.
    admin_user.groups.clear()
    spaces.clear_toasts()
    spaces.dialog.get_by_role("button", name="OK", exact=True).click()
    expect(spaces.toasts.get_by_role("alert").filter(has_text=FORBIDDEN)).to_be_visible()
    assert not SpaceBinding.objects.exists()


def test_a_refusal_with_its_own_toast_gets_no_second_one(
    page, page_errors, log_in, admin_user, demo_registry
):
    registry, space = demo_registry
    page_errors.allow(r"status of 422")
    space.visibility = "public"
    space.save()
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    # A value the server refuses (422) with its own error toast: htmx's error must not add one.
    page.route("**/visibility/", lambda route: route.continue_(post_data="visibility=hidden"))
    spaces.row.get_by_label(f"Actions for {space.name}").click()
    spaces.clear_toasts()
    spaces.row.get_by_role("button", name="Make private").click()
    expect(spaces.toasts.get_by_role("alert")).to_have_text(["Choose public or private."])
    page.wait_for_timeout(200)
    expect(spaces.toasts.get_by_role("alert")).to_have_count(1)


def test_escape_cancel_and_x_return_focus_to_the_menu_that_opened_the_dialog(
    page, log_in, admin_user, demo_registry
):
    registry, space = demo_registry
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    menu = spaces.row.locator("details.menu")
    summary = spaces.row.get_by_label(f"Actions for {space.name}")
    for close in ("Escape", "Cancel", "Close"):
        spaces.open_bind_dialog()
        # The ⋮ menu closed when its dialog opened.
        expect(menu).not_to_have_attribute("open", re.compile(".*"))
        expect(spaces.row.get_by_role("link", name="Bind/unbind workspace")).to_be_hidden()
        if close == "Escape":
            page.keyboard.press("Escape")
        else:
            spaces.dialog.get_by_role("button", name=close, exact=True).click()
        expect(spaces.dialog).to_be_hidden()
        expect(summary).to_be_focused()


def test_focus_returns_to_a_button_that_opened_a_dialog(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    open_spaces(page, log_in, admin_user, registry, space)
    opener = page.get_by_role("link", name="Create registry space")
    opener.click()
    dialog = page.get_by_role("dialog", name="Create registry space")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_focus_returns_to_the_refreshed_rows_menu_after_ok(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    spaces.open_bind_dialog()
    spaces.search_and_check("pay", "payments")
    spaces.ok_and_expect_toast()
    expect(spaces.cell.locator(".hover-list-label")).to_have_text("payments")
    expect(spaces.row.get_by_label(f"Actions for {space.name}")).to_be_focused()


# Hundreds of workspaces -----------------------------------------------------------------------


@pytest.fixture
def crowded(demo_registry, admin_user):
    registry, space = demo_registry
    Workspace.objects.bulk_create(Workspace(name=f"team-{n:03d}") for n in range(320))
    bound = list(Workspace.objects.filter(name__startswith="team-1").order_by("name")[:40])
    services.change_bindings(space, admin_user, add=bound)
    return registry, space


def test_bind_dialog_with_320_workspaces_lists_bound_first_and_loads_more(page, log_in, admin_user, crowded):
    registry, space = crowded
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    spaces.open_bind_dialog()
    expect(spaces.chips()).to_have_count(40)
    # 40 chips scroll in their own box: the search box is still in view and usable.
    search = spaces.search
    expect(search).to_be_in_viewport()
    assert element_on_top(page, search)
    boxes = spaces.dialog.get_by_role("checkbox")
    expect(boxes).to_have_count(20)
    expect(boxes.first).to_be_checked()
    expect(boxes.first).to_have_accessible_name(re.compile(r"^team-100\b"))

    # 324 workspaces, 20 shown: "Load more" counts at most 100 ahead (registries.views).
    load_more = spaces.dialog.get_by_role(
        "button", name=re.compile(r"^Load more \(more than 100 more workspaces\)")
    )
    load_more.click()
    expect(boxes).to_have_count(40)
    expect(boxes.nth(20)).to_be_focused()
    expect(boxes.nth(39)).to_have_accessible_name(re.compile(r"^team-139\b"))
    spaces.dialog.get_by_role("button", name=re.compile(r"^Load more")).click()
    expect(boxes).to_have_count(60)
    # Past the bound ones: the rest by name, unticked; ticking one adds its chip.
    expect(boxes.nth(40)).to_have_accessible_name(re.compile(r"^analytics\b"))
    expect(boxes.nth(44)).to_have_accessible_name(re.compile(r"^team-000\b"))
    boxes.nth(40).check()
    expect(spaces.chips()).to_have_count(41)
    spaces.ok_and_expect_toast()
    assert space.workspaces.count() == 41


def test_hover_list_shows_ten_names_and_see_all_opens_the_list(page, log_in, admin_user, crowded):
    registry, space = crowded
    spaces = open_spaces(page, log_in, admin_user, registry, space)
    label = spaces.cell.locator(".hover-list-label")
    expect(label).to_have_text("team-100 +39")
    label.hover()
    tooltip = spaces.cell.get_by_role("tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip.get_by_role("listitem")).to_have_count(11)
    expect(tooltip.get_by_role("listitem").last).to_have_text("and 30 more")
    spaces.cell.get_by_role("link", name="See all 40 workspaces bound to team-private").click()
    expect(spaces.dialog).to_be_visible()
    expect(spaces.chips()).to_have_count(40)
    page.keyboard.press("Escape")
    expect(spaces.cell.get_by_role("link", name=re.compile("See all"))).to_be_focused()


def test_bind_page_works_without_javascript(browser, live_server, crowded):
    registry, space = crowded
    make_user("nojs-admin", admin=True)
    from conftest import PASSWORD

    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill("nojs-admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/registries/{registry.pk}/spaces/")
        page.locator(f"#space-{space.pk} summary").click()
        page.get_by_role("link", name="Bind/unbind workspace").click()
        expect(page.get_by_role("heading", name="Bind/unbind workspace", level=1)).to_be_visible()
        page.get_by_role("checkbox", name=re.compile(r"^team-100\b")).uncheck()
        page.get_by_role("link", name="Next").click()
        page.get_by_role("checkbox", name=re.compile(r"^team-120\b")).uncheck()
        page.get_by_role("button", name="OK", exact=True).click()
        expect(page.get_by_text(BIND_TOAST)).to_be_visible()
        names = set(space.workspaces.values_list("name", flat=True))
        assert "team-120" not in names and "team-100" in names  # only page 2's choice was sent
        assert len(names) == 39
    finally:
        context.close()
