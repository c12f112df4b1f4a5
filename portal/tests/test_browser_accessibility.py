"""axe-core in Chromium: every main page and dialog state, as an Admin and as a workspace member,
on a desktop (1280x800) and a phone (390x844), in English and in Simplified Chinese.

A serious or critical axe violation (colour contrast among them) fails the test. The pages are
also checked for what a phone user notices: nothing wider than the screen except inside a box
that scrolls on its own.

The language is the browser's (Accept-Language and the context's locale), so the tests hold
with or without the zh-Hans catalog; they never look for English text on the pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access_requests.models import AccessRequest
from conftest import PASSWORD, make_user
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag
from workspaces.models import Cluster, Namespace, Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
LANGUAGES = {"en": "en-US,en;q=0.9", "zh-Hans": "zh-CN,zh-Hans;q=0.9,zh;q=0.8"}
BLOCKING = {"serious", "critical"}

# Longer than anything a real registry has, so the Overview's layout is tried with it.
LONG_ADDRESS = "https://harbor.registry-with-a-very-long-host-name.example.internal.example.com"


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@dataclass
class Findings:
    """axe violations per page state; only serious and critical ones fail."""

    seen: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, state: str, violations: list[dict]) -> None:
        for violation in violations:
            targets = ", ".join(str(node.get("target")) for node in violation.get("nodes", []))
            self.seen.append((state, violation["id"], violation.get("impact") or "", targets))

    def blocking(self) -> list[tuple[str, str, str, str]]:
        return [entry for entry in self.seen if entry[2] in BLOCKING]

    def summary(self) -> str:
        return "\n  ".join(
            f"{state}: {rule} ({impact}) at {targets}" for state, rule, impact, targets in self.seen
        )


@pytest.fixture
def world(transactional_db):
    registry = Registry.objects.create(name="harbor-demo", kind="harbor", url=LONG_ADDRESS, is_demo=True)
    private = RegistrySpace.objects.create(
        registry=registry, name="team-private", visibility="private", repository_count=3
    )
    library = RegistrySpace.objects.create(
        registry=registry, name="library", visibility="public", repository_count=5
    )
    payments = Workspace.objects.create(name="payments", description="Payments team")
    for name in ("search", "analytics", "platform"):
        Workspace.objects.create(name=name, description=f"{name} team")
    SpaceBinding.objects.create(space=private, workspace=payments)
    # A long name and a Chinese description must not break the layout.
    chinese = Workspace.objects.create(
        name="data-and-business-intelligence-platform-team",
        description="负责数据仓库、报表和机器学习平台的数据分析与商业智能团队",
    )
    SpaceBinding.objects.create(space=library, workspace=chinese)
    repository = Repository.objects.create(
        space=private, name="team-private/api-gateway-service", tag_count=1, last_push=timezone.now()
    )
    Tag.objects.create(
        repository=repository,
        name="1.0.0-rc.1",
        digest="sha256:" + "a" * 64,
        size=123_456_789,
        pushed=timezone.now(),
        platforms=["linux/amd64"],
    )
    cluster = Cluster.objects.create(name="prod-cluster")
    namespace = Namespace.objects.create(cluster=cluster, name="payments-prod", workspace=payments)
    admin = make_user("platform-admin", admin=True)
    member = make_user("payments-dev", workspace=payments, role="editor")
    RegistrySpace.objects.create(registry=registry, name="team-vault", visibility="private")
    access_request = AccessRequest.objects.create(
        workspace=payments,
        registry=registry,
        space_name="team-vault",
        requested_by=member,
        reason="The payments service pulls its base images from team-vault.",
    )
    return {
        "registry": registry,
        "space": private,
        "workspace": payments,
        "repository": repository,
        "namespace": namespace,
        "admin": admin,
        "member": member,
        "access_request": access_request,
        "digest": "sha256:" + "a" * 64,
    }


def open_context(browser, live_server, viewport, language):
    return browser.new_context(
        base_url=live_server.url,
        viewport=viewport,
        timezone_id="UTC",
        locale="zh-CN" if language == "zh-Hans" else "en-US",
        extra_http_headers={"Accept-Language": LANGUAGES[language]},
    )


def log_in(page, username):
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/login/" not in page.url, f"logging in as {username} failed"


def no_page_wider_than_screen(page, state):
    """On a phone nothing but boxes that scroll themselves may be wider than the window."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{state}: the page is {overflow}px wider than the screen"


class Walk:
    def __init__(self, page, axe, findings, phone):
        self.page = page
        self.axe = axe
        self.findings = findings
        self.phone = phone

    def check(self, state):
        # Let transitions (the toast, the menu) finish so colours are final.
        self.page.wait_for_timeout(50)
        result = self.axe.run(self.page)
        self.findings.add(state, result.response["violations"])
        if self.phone:
            no_page_wider_than_screen(self.page, state)

    def visit(self, path, state=None, status=200):
        response = self.page.goto(path)
        assert response.status == status, f"{path}: {response.status}"
        self.check(state or path)

    def open_navigation(self, state):
        """On a phone the side navigation is behind the menu button: open it, check, close."""
        if not self.phone:
            return
        button = self.page.locator("[data-nav-toggle]")
        expect(button).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "false")
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(self.page.locator("#sidenav")).to_be_visible()
        self.check(state)
        button.click()
        expect(self.page.locator("#sidenav")).to_be_hidden()


def walk_as_admin(walk, world):
    page = walk.page
    registry, space = world["registry"], world["space"]
    walk.visit("/")
    walk.open_navigation("navigation open")
    walk.visit("/registries/")
    walk.visit(f"/registries/{registry.pk}/")
    walk.open_navigation("navigation open inside a registry")
    walk.visit(f"/registries/{registry.pk}/spaces/")
    row = page.locator(f"#space-{space.pk}")
    row.locator("summary").click()
    expect(row.locator(".menu-items")).to_be_visible()
    walk.check("space row menu open")
    row.locator(".menu-items a").first.click()
    dialog = page.locator("#modal")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-chips] [data-chip]")).to_have_count(1)
    walk.check("bind dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.locator(f"a[href='/registries/{registry.pk}/spaces/new/']").click()
    expect(dialog).to_be_visible()
    walk.check("create space dialog")
    page.keyboard.press("Escape")
    walk.visit(f"/registries/{registry.pk}/edit/")
    walk.visit("/registries/new/")
    walk.visit("/registries/bindings/")
    walk.visit("/access-requests/")
    walk.visit(f"/access-requests/{world['access_request'].pk}/")
    walk.visit("/workspace-registries/")
    walk.visit("/images/")
    walk.visit("/namespaces/")
    walk.visit(f"/namespaces/{world['namespace'].pk}/")
    walk.visit("/deploy/")
    walk.visit("/workspaces/")
    walk.visit(f"/workspaces/{world['workspace'].pk}/")
    walk.visit("/audit-log/")
    walk.visit("/profile/")
    walk.visit("/explain/")
    walk.visit("/registries/999999/", "not found page", status=404)


def walk_as_member(walk, world):
    walk.visit("/")
    walk.open_navigation("navigation open")
    walk.visit("/workspace-registries/")
    walk.visit("/images/")
    repository = world["repository"].pk
    walk.visit(f"/images/{repository}/")
    walk.visit(f"/images/{repository}/artifacts/{world['digest']}/layers/")
    walk.visit(f"/images/{repository}/artifacts/{world['digest']}/scan/")
    walk.visit("/access-requests/")
    walk.visit("/access-requests/new/")
    walk.visit(f"/access-requests/{world['access_request'].pk}/")
    walk.visit("/namespaces/")
    walk.visit(f"/namespaces/{world['namespace'].pk}/")
    walk.visit("/deploy/")
    walk.visit(f"/deploy/?namespace={world['namespace'].pk}")
    page = walk.page
    page.locator("#choose-image").click()
    dialog = page.locator("#modal")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-picker], .picker").first).to_be_visible()
    walk.check("Choose Image dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    walk.visit("/workspaces/")
    walk.visit(f"/workspaces/{world['workspace'].pk}/")
    walk.visit("/profile/")
    walk.visit("/registries/", "permission denied page", status=403)


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("persona", ["admin", "member"])
def test_pages_have_no_serious_accessibility_violations(
    browser, live_server, axe, world, page_errors, persona, viewport, language
):
    context = open_context(browser, live_server, viewport, language)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            page_errors.add(f"console.error: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: page_errors.add(f"page error: {error}"))
    # The 403 and 404 pages are answered on purpose; Chromium logs each as a console error.
    page_errors.allow(r"status of 40[34]")
    findings = Findings()
    try:
        log_in(page, world[persona].get_username())
        expected = "zh-hans" if language == "zh-Hans" else "en"
        assert page.locator("html").get_attribute("lang").lower() == expected
        walk = Walk(page, axe, findings, phone=viewport == PHONE)
        (walk_as_admin if persona == "admin" else walk_as_member)(walk, world)
    finally:
        context.close()
    print(
        f"axe ({persona}, {viewport['width']}px, {language}): {len(findings.seen)} violations"
        f", {len(findings.blocking())} serious or critical\n  {findings.summary()}"
    )
    assert not findings.blocking(), "Serious or critical axe violations:\n  " + findings.summary()


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_seed_walk_on_a_phone_or_tablet(browser, live_server, world, page_errors, viewport):
    """The seed's walk at 390x844 (and 820x1180): Menu, the registry, Registry space, ⋮,
    Bind/unbind workspace, OK, toast."""
    registry, space = world["registry"], world["space"]
    context = open_context(browser, live_server, viewport, "en")
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.add(f"page error: {error}"))
    try:
        log_in(page, "platform-admin")
        nav = page.get_by_role("navigation", name="Main navigation")
        expect(nav).to_be_hidden()
        menu = page.get_by_role("button", name="Menu")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        nav.get_by_role("link", name="Integrated Registry (Admin)").click()
        page.get_by_role("link", name=registry.name, exact=True).click()
        expect(page).to_have_url(re.compile(rf"/registries/{registry.pk}/$"))
        # Inside the registry its sections are in the same menu as the rest of the navigation.
        menu.click()
        nav.get_by_role("link", name="Registry space").click()
        expect(page).to_have_url(re.compile(rf"/registries/{registry.pk}/spaces/$"))
        expect(nav).to_be_hidden()

        row = page.locator(f"#space-{space.pk}")
        summary = row.get_by_label(f"Actions for {space.name}")
        # The ⋮ is reachable without scrolling the table sideways and big enough to tap.
        box = summary.bounding_box()
        assert box["x"] + box["width"] <= viewport["width"]
        assert box["width"] >= 24 and box["height"] >= 24
        summary.click()
        row.get_by_role("link", name="Bind/unbind workspace").click()
        dialog = page.get_by_role("dialog", name="Bind/unbind workspace")
        expect(dialog).to_be_visible()
        dialog_box = dialog.bounding_box()
        assert dialog_box["x"] >= 0 and dialog_box["x"] + dialog_box["width"] <= viewport["width"]
        dialog.get_by_role("searchbox", name="Search workspaces").fill("sear")
        expect(dialog.get_by_role("checkbox")).to_have_count(1)
        dialog.get_by_role("checkbox", name=re.compile(r"^search\b")).check()
        page.evaluate("document.getElementById('toasts').replaceChildren()")
        dialog.get_by_role("button", name="OK", exact=True).click()
        toast = page.locator("#toasts").get_by_text("Bound/Unbound workspace successfully")
        expect(toast).to_be_visible()
        toast_box = toast.bounding_box()
        assert toast_box["x"] >= 0 and toast_box["x"] + toast_box["width"] <= viewport["width"]
        expect(dialog).to_be_hidden()
        expect(row.locator(".hover-list-label")).to_have_text("payments +1")
        no_page_wider_than_screen(page, "space list after binding")
    finally:
        context.close()
    assert sorted(space.workspaces.values_list("name", flat=True)) == ["payments", "search"]
