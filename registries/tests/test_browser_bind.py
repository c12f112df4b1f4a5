"""The seed's page, walked in Chromium as a user would: Bind/Unbind Workspace.

Log in as Admin, Container Registry -> Integrated Registry (Admin), click the registry's name,
Registry space, `⋮` -> Bind/unbind workspace, pick workspaces, OK, toast, hover list; unbind
with `x` until `No binding` shows again. The registry is a demo registry (never contacted), so
nothing but the live server and the browser is involved.
"""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from portal.models import AuditEvent
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding
from workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BIND_TOAST = "Bound/Unbound workspace successfully"
CREATE_TOAST = "Created registry space successfully"
MARKER = "window.__wharfNoReload"


@pytest.fixture
def admin_user(transactional_db):
    # make_user(admin=True) recreates the Admin group that the live server's flush removed.
    return make_user("platform-admin", admin=True)


@pytest.fixture
def demo_registry(transactional_db):
    registry = Registry.objects.create(
        name="harbor-demo", kind="harbor", url="https://harbor.demo.example", is_demo=True
    )
    private = RegistrySpace.objects.create(
        registry=registry, name="team-private", visibility="private", repository_count=3
    )
    RegistrySpace.objects.create(registry=registry, name="library", visibility="public", repository_count=5)
    for name, description in [
        ("payments", "Payments team"),
        ("search", "Search team"),
        ("analytics", "Data and reports"),
        ("platform", "Platform team"),
    ]:
        Workspace.objects.create(name=name, description=description)
    return registry, private


class SpacePage:
    """What a user looks at on the Registry space page; locators only, no shortcuts."""

    def __init__(self, page, space):
        self.page = page
        self.space = space
        self.row = page.locator(f"#space-{space.pk}")
        self.cell = self.row.locator("td.workspace-cell")
        self.dialog = page.get_by_role("dialog", name="Bind/unbind workspace")
        self.toasts = page.locator("#toasts")
        self.search = self.dialog.get_by_role("searchbox", name="Search workspaces")

    def clear_toasts(self):
        # Toasts live 5 s; start each step without the previous one so a toast seen is a new one.
        self.page.evaluate("document.getElementById('toasts').replaceChildren()")

    def open_bind_dialog(self):
        self.row.get_by_label(f"Actions for {self.space.name}").click()
        self.row.get_by_role("link", name="Bind/unbind workspace").click()
        expect(self.dialog).to_be_visible()
        # Ready for typing: the dialog puts the cursor in its search box.
        expect(self.search).to_be_focused()

    def chips(self):
        return self.dialog.get_by_role("list", name="Selected workspaces").get_by_role("listitem")

    def search_and_check(self, text, workspace):
        self.search.fill(text)
        box = self.dialog.get_by_role("checkbox", name=re.compile(rf"^{workspace}\b"))
        # The results list is replaced by the search; wait until only matches are left.
        expect(self.dialog.get_by_role("checkbox")).to_have_count(1)
        box.check()
        expect(self.chips().filter(has_text=workspace)).to_have_count(1)

    def ok_and_expect_toast(self):
        self.clear_toasts()
        self.dialog.get_by_role("button", name="OK", exact=True).click()
        expect(self.toasts.get_by_text(BIND_TOAST)).to_be_visible()
        expect(self.dialog).to_be_hidden()


def no_reload_since_marked(page):
    return page.evaluate(f"{MARKER} === true")


def walk_to_space_page(page, registry):
    """Steps 1-3 of the seed: left navigation, the registry's name, Registry space."""
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("heading", name="Container Registry")).to_be_visible()
    nav.get_by_role("link", name="Integrated Registry (Admin)").click()
    expect(page.get_by_role("heading", name="Integrated Registry (Admin)", level=1)).to_be_visible()
    page.get_by_role("link", name=registry.name, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(registry.name), level=1)).to_be_visible()
    # The registry's sections sit in the left navigation, as the seed says.
    nav.get_by_role("link", name="Registry space").click()
    expect(page).to_have_url(re.compile(rf"/registries/{registry.pk}/spaces/$"))
    expect(page.get_by_role("columnheader", name="Workspace")).to_be_visible()


def test_admin_binds_and_unbinds_workspaces_as_in_the_seed(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    log_in(admin_user)
    walk_to_space_page(page, registry)

    # Everything from here on happens in place: the marker would be lost on any reload.
    page.evaluate(f"{MARKER} = true")
    navigations = []
    page.on(
        "framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None
    )
    spaces = SpacePage(page, space)
    expect(spaces.cell).to_have_text("No binding")

    # ⋮ -> Bind/unbind workspace; search, select two workspaces; OK.
    spaces.open_bind_dialog()
    expect(spaces.dialog.get_by_text("No binding")).to_be_visible()
    spaces.search_and_check("pay", "payments")
    spaces.search_and_check("sear", "search")
    expect(spaces.chips()).to_have_count(2)
    expect(spaces.dialog.get_by_text("No binding")).to_be_hidden()
    spaces.ok_and_expect_toast()

    # The Workspace cell updates in place; hover and keyboard focus show both workspaces.
    label = spaces.cell.locator(".hover-list-label")
    tooltip = spaces.cell.get_by_role("tooltip")
    expect(label).to_have_text("payments +1")
    expect(tooltip).to_be_hidden()
    label.hover()
    expect(tooltip).to_be_visible()
    expect(tooltip.get_by_role("listitem")).to_have_text(["payments", "search"])
    page.mouse.move(0, 0)
    expect(tooltip).to_be_hidden()
    label.focus()
    expect(tooltip).to_be_visible()
    expect(label).to_have_accessible_description(re.compile("payments.*search"))
    page.keyboard.press("Escape")
    assert no_reload_since_marked(page)
    assert sorted(space.workspaces.values_list("name", flat=True)) == ["payments", "search"]
    assert SpaceBinding.objects.filter(space=space, created_by=admin_user).count() == 2

    # Unbind one with its chip's x.
    spaces.open_bind_dialog()
    expect(spaces.chips()).to_have_count(2)
    spaces.dialog.get_by_role("button", name="Unbind payments").click()
    expect(spaces.chips()).to_have_count(1)
    expect(spaces.dialog.get_by_role("checkbox", name=re.compile(r"^payments\b"))).not_to_be_checked()
    spaces.ok_and_expect_toast()
    expect(spaces.cell.locator(".hover-list-label")).to_have_text("search")
    label.hover()
    expect(tooltip.get_by_role("listitem")).to_have_text(["search"])
    assert list(space.workspaces.values_list("name", flat=True)) == ["search"]

    # Remove the last one: No binding again.
    spaces.open_bind_dialog()
    spaces.dialog.get_by_role("button", name="Unbind search").click()
    expect(spaces.dialog.get_by_text("No binding")).to_be_visible()
    spaces.ok_and_expect_toast()
    expect(spaces.cell).to_have_text("No binding")
    assert not SpaceBinding.objects.filter(space=space).exists()

    # The other row was never touched, nothing reloaded, and every change was audited.
    expect(page.locator("#space-table").get_by_role("row")).to_have_count(3)
    assert no_reload_since_marked(page)
    assert navigations == []
    events = AuditEvent.objects.filter(target_id=str(space.pk)).order_by("pk")
    assert [(e.action, (e.after or e.before)["workspace"]) for e in events] == [
        ("space.bind", "payments"),
        ("space.bind", "search"),
        ("space.unbind", "payments"),
        ("space.unbind", "search"),
    ]
    assert {e.actor_name for e in events} == {"platform-admin"}


def test_cancel_discards_the_choice(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    log_in(admin_user)
    page.goto(f"/registries/{registry.pk}/spaces/")
    spaces = SpacePage(page, space)
    spaces.open_bind_dialog()
    spaces.search_and_check("ana", "analytics")
    spaces.dialog.get_by_role("button", name="Cancel").click()
    expect(spaces.dialog).to_be_hidden()
    expect(spaces.cell).to_have_text("No binding")
    # Reopened, the dialog shows what is stored, not the discarded choice.
    spaces.open_bind_dialog()
    expect(spaces.chips()).to_have_count(0)
    assert not SpaceBinding.objects.exists()
    assert not AuditEvent.objects.exists()


def test_keyboard_only_bind(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    log_in(admin_user)
    page.goto(f"/registries/{registry.pk}/spaces/")
    page.evaluate(f"{MARKER} = true")
    spaces = SpacePage(page, space)
    menu_button = spaces.row.get_by_label(f"Actions for {space.name}")

    # Tab from the search box to the row's ⋮, as a keyboard user would.
    page.get_by_role("searchbox", name="Search by name").focus()
    for _ in range(20):
        page.keyboard.press("Tab")
        if menu_button.evaluate("element => element === document.activeElement"):
            break
    expect(menu_button).to_be_focused()
    page.keyboard.press("Enter")
    bind_link = spaces.row.get_by_role("link", name="Bind/unbind workspace")
    expect(bind_link).to_be_visible()
    page.keyboard.press("Tab")
    expect(bind_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(spaces.dialog).to_be_visible()

    # The dialog puts the cursor in its search box.
    search = spaces.dialog.get_by_role("searchbox", name="Search workspaces")
    expect(search).to_be_focused()
    page.keyboard.type("plat")
    expect(spaces.dialog.get_by_role("checkbox")).to_have_count(1)
    page.keyboard.press("Enter")  # searching, not submitting
    expect(spaces.dialog).to_be_visible()
    page.keyboard.press("Tab")
    expect(spaces.dialog.get_by_role("checkbox", name=re.compile(r"^platform\b"))).to_be_focused()
    page.keyboard.press("Space")
    expect(spaces.chips()).to_have_count(1)
    expect(spaces.chips().first).to_contain_text("platform")
    ok = spaces.dialog.get_by_role("button", name="OK", exact=True)
    for _ in range(10):
        if ok.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(ok).to_be_focused()
    spaces.clear_toasts()
    page.keyboard.press("Enter")
    expect(spaces.toasts.get_by_text(BIND_TOAST)).to_be_visible()
    expect(spaces.dialog).to_be_hidden()
    expect(spaces.cell.locator(".hover-list-label")).to_have_text("platform")
    # Focus comes back to the refreshed row's ⋮, not to the top of the page.
    expect(menu_button).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(spaces.cell.get_by_role("tooltip")).to_be_visible()

    # Escape closes the dialog without a change.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(spaces.dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(spaces.dialog).to_be_hidden()
    assert no_reload_since_marked(page)
    assert list(space.workspaces.values_list("name", flat=True)) == ["platform"]
    assert AuditEvent.objects.filter(action="space.bind").count() == 1


def test_create_registry_space_refreshes_the_table(page, page_errors, log_in, admin_user, demo_registry):
    registry, _space = demo_registry
    log_in(admin_user)
    page.goto(f"/registries/{registry.pk}/spaces/")
    page.evaluate(f"{MARKER} = true")
    table = page.locator("#space-table")
    expect(table.locator("tbody").get_by_role("row")).to_have_count(2)

    page.get_by_role("link", name="Create registry space").click()
    dialog = page.get_by_role("dialog", name="Create registry space")
    expect(dialog).to_be_visible()
    name = dialog.get_by_role("textbox", name="Name")
    expect(name).to_be_focused()

    # A bad name is refused on the field, the dialog stays open.
    # Chromium logs the 422 answer as a console error; that one is expected here.
    page_errors.allow(r"status of 422")
    name.fill("Not A DNS Label")
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(dialog.get_by_role("alert").first).to_be_visible()
    expect(dialog).to_be_visible()

    name.fill("team-new")
    dialog.get_by_role("radio", name="Private").check()
    page.evaluate("document.getElementById('toasts').replaceChildren()")
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("#toasts").get_by_text(CREATE_TOAST)).to_be_visible()
    expect(dialog).to_be_hidden()
    new_row = table.get_by_role("row").filter(has_text="team-new")
    expect(new_row).to_have_count(1)
    expect(new_row.locator("td.workspace-cell")).to_have_text("No binding")
    expect(new_row.get_by_role("cell", name="Private", exact=True)).to_be_visible()
    expect(table.locator("tbody").get_by_role("row")).to_have_count(3)
    assert no_reload_since_marked(page)

    created = RegistrySpace.objects.get(registry=registry, name="team-new")
    assert created.visibility == "private"
    assert AuditEvent.objects.filter(action="space.create", target_id=str(created.pk)).exists()


def element_on_top(page, locator):
    """True when the element is what the user sees at its centre (not under a backdrop)."""
    return locator.evaluate("""element => {
        const box = element.getBoundingClientRect();
        const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
        return element === top || element.contains(top);
    }""")


def test_row_menu_make_public_and_delete(page, page_errors, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    empty = RegistrySpace.objects.create(registry=registry, name="zz-empty", visibility="private")
    # Its image count says 0 but an image arrived since: the delete is refused, with a message.
    stale = RegistrySpace.objects.create(registry=registry, name="zz-stale", visibility="private")
    Repository.objects.create(space=stale, name="zz-stale/app")
    log_in(admin_user)
    page.set_viewport_size({"width": 1280, "height": 520})
    page.goto(f"/registries/{registry.pk}/spaces/")
    page.evaluate(f"{MARKER} = true")
    toasts = page.locator("#toasts")

    # Make public: the row's Type changes in place; the menu now offers Make private.
    row = page.locator(f"#space-{space.pk}")
    row.get_by_label(f"Actions for {space.name}").click()
    row.get_by_role("button", name="Make public").click()
    expect(toasts.get_by_text(f"{space.name} is now Public.")).to_be_visible()
    expect(row.get_by_role("cell", name="Public", exact=True)).to_be_visible()
    row.get_by_label(f"Actions for {space.name}").click()
    expect(row.get_by_role("button", name="Make private")).to_be_visible()
    page.keyboard.press("Escape")
    space.refresh_from_db()
    assert space.visibility == "public"

    # The last row's menu opens upwards rather than running off the bottom of the window.
    last = page.locator(f"#space-{stale.pk}")
    last.scroll_into_view_if_needed()
    last.get_by_label("Actions for zz-stale").click()
    items = last.get_by_role("link", name="Delete")
    expect(items).to_be_visible()
    expect(last.locator("details.menu")).to_have_class(re.compile(r"\bmenu-up\b"))
    assert items.bounding_box()["y"] + items.bounding_box()["height"] <= 520
    assert element_on_top(page, items)

    # A refused delete: an error toast above the dialog, which keeps its content.
    page_errors.allow(r"status of 422")
    items.click()
    dialog = page.get_by_role("dialog", name="Delete zz-stale?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    error = toasts.get_by_role("alert").filter(has_text="Only empty registry spaces can be deleted")
    expect(error).to_be_visible()
    assert element_on_top(page, error)
    expect(dialog.get_by_role("button", name="Delete")).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert RegistrySpace.objects.filter(pk=stale.pk).exists()

    # An empty space is deleted; the table refreshes without it.
    row = page.locator(f"#space-{empty.pk}")
    row.get_by_label("Actions for zz-empty").click()
    row.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete zz-empty?")
    dialog.get_by_role("button", name="Delete").click()
    expect(toasts.get_by_text("Deleted registry space zz-empty.")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#space-{empty.pk}")).to_have_count(0)
    assert not RegistrySpace.objects.filter(pk=empty.pk).exists()
    assert no_reload_since_marked(page)
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "space.visibility",
        "space.delete",
    ]
