"""JFrog Artifactory end to end in Chromium, against the Artifactory double (issue 13, "Done when").

An Admin integrates the Artifactory through Integrated Registry (Admin) with the double's URL
and credentials, syncs it with Sync now, opens Registry space, sees Artifactory's notice and
binds the private ``docker-local`` to a workspace through the Bind/unbind dialog; a member of
that workspace opens Create by Image for one of its namespaces and picks an image of that space
in Choose Image, and the Image field holds ``host/<repo-key>/<image>:<tag>``.
"""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from registries.kinds.artifactory.tests.double import ADMIN_PASSWORD, ADMIN_USER
from registries.models import Registry, SpaceBinding
from workspaces.models import Cluster, Namespace, Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BIND_TOAST = "Bound/Unbound workspace successfully"


@pytest.fixture
def artifactory(artifactory_double):
    double = artifactory_double
    double.add_repository("docker-local", "local")
    double.add_repository("docker-virtual", "virtual", members=["docker-local"])
    double.add_image("docker-local", "billing", tags=("1.4",))
    return double


@pytest.fixture
def world(transactional_db):
    payments = Workspace.objects.create(name="payments", description="Payments team")
    Workspace.objects.create(name="search", description="Search team")
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="billing", workspace=payments
    )
    return {
        "admin": make_user("platform-admin", admin=True),
        "member": make_user("pay-editor", workspace=payments, role="editor"),
        "payments": payments,
        "namespace": namespace,
    }


def test_an_admin_integrates_artifactory_and_a_member_picks_its_image(page, log_in, artifactory, world):
    log_in(world["admin"])
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="Integrated Registry (Admin)").click()
    page.get_by_role("link", name="Integrated Registry", exact=True).click()
    expect(page.get_by_role("heading", name="Integrated Registry", level=1)).to_be_visible()
    page.get_by_label("Kind").select_option(label="JFrog Artifactory")
    page.get_by_label("Name", exact=True).fill("jfrog")
    page.get_by_label("URL", exact=True).fill(artifactory.url)
    page.get_by_label("Username", exact=True).fill(ADMIN_USER)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="OK").click()

    registry_heading = page.get_by_role("heading", name=re.compile("jfrog"), level=1)
    expect(registry_heading).to_be_visible()
    registry = Registry.objects.get(name="jfrog")
    assert registry.kind == "artifactory"
    expect(
        page.get_by_text("Workspaces and clusters pull with their own Artifactory credentials")
    ).to_be_visible()
    page.get_by_role("button", name="Sync now").click()
    expect(registry_heading).to_be_visible()

    nav.get_by_role("link", name="Registry space").click()
    expect(page).to_have_url(re.compile(rf"/registries/{registry.pk}/spaces/$"))
    expect(page.get_by_text("Artifactory's own permissions decide who can pull")).to_be_visible()
    expect(page.get_by_role("link", name="Create registry space")).to_have_count(0)
    space = registry.spaces.get(name="docker-local")
    row = page.locator(f"#space-{space.pk}")
    expect(row.get_by_role("cell", name="Private")).to_be_visible()

    row.get_by_label("Actions for docker-local").click()
    row.get_by_role("link", name="Bind/unbind workspace").click()
    dialog = page.get_by_role("dialog", name="Bind/unbind workspace")
    expect(dialog).to_be_visible()
    dialog.get_by_role("searchbox", name="Search workspaces").fill("pay")
    expect(dialog.get_by_role("checkbox")).to_have_count(1)
    dialog.get_by_role("checkbox", name=re.compile(r"^payments\b")).check()
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("#toasts").get_by_text(BIND_TOAST)).to_be_visible()
    expect(row.locator("td.workspace-cell")).to_contain_text("payments")
    assert SpaceBinding.objects.filter(space=space, workspace=world["payments"]).exists()

    # The member, in the same browser after the Admin's session is gone.
    page.context.clear_cookies()
    log_in(world["member"])
    page.goto("/deploy/")
    page.get_by_label("Namespace").select_option(label="prod/billing (payments)")
    page.get_by_role("link", name="Choose Image").click()
    picker = page.get_by_role("dialog", name="Choose Image")
    expect(picker).to_be_visible()
    picker.get_by_role("tab", name="Private").click()
    expect(picker.get_by_text("docker-local/billing")).to_be_visible()
    # The virtual repository is not bound: its copy of the image is not offered.
    expect(picker.get_by_text("docker-virtual/billing")).to_have_count(0)
    picker.get_by_role("link", name="Tags of docker-local/billing").click()
    tags = page.get_by_role("dialog", name="Choose a tag of docker-local/billing")
    host = artifactory.url.split("://", 1)[1]
    tags.get_by_role("link", name=f"Choose {host}/docker-local/billing:1.4").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_label("Image", exact=True)).to_have_value(f"{host}/docker-local/billing:1.4")
