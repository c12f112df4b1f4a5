"""Create by Image with Choose Image, walked in Chromium (the issue's three browser scenarios).

1. A Workspace Editor opens Create by Image for a bound namespace, uses Choose Image, switches
   to Private, searches, picks a tag (also pinned by digest) and gets the manifest.
2. For a namespace bound to no workspace, the picker's Private tab says why, and the explainer
   gives the same answer.
3. After an Admin binds the space, the private image appears without any other step.
"""

import pytest
from playwright.sync_api import expect

from conftest import make_user
from registries import services
from registries.tests import image_world
from registries.tests.image_world import host
from workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    workspaces = {
        "payments": Workspace.objects.create(name="payments"),
        "search": Workspace.objects.create(name="search"),
    }
    return image_world.build(workspaces)


def open_picker(page, namespace):
    page.goto("/deploy/")
    page.get_by_label("Namespace").select_option(
        label=f"prod/{namespace.name} ({namespace.workspace.name if namespace.workspace else 'no workspace'})"
    )
    page.get_by_role("link", name="Choose Image").click()
    dialog = page.get_by_role("dialog", name="Choose Image")
    expect(dialog).to_be_visible()
    return dialog


def test_editor_chooses_a_private_image_and_gets_the_manifest(page, log_in, world):
    editor = make_user("editor", workspace=world["workspaces"]["payments"], role="editor")
    log_in(editor)
    namespace = world["namespaces"]["ns-w"]
    dialog = open_picker(page, namespace)
    expect(dialog.get_by_role("tab", name="Public")).to_have_attribute("aria-selected", "true")
    expect(dialog.get_by_text("pub/app")).to_be_visible()

    dialog.get_by_role("tab", name="Private").click()
    expect(dialog.get_by_role("tab", name="Private")).to_have_attribute("aria-selected", "true")
    expect(dialog.get_by_text("priv-w/app")).to_be_visible()
    dialog.get_by_role("searchbox", name="Search images").fill("team")
    expect(dialog.get_by_text("priv-w/app")).to_be_hidden()
    expect(dialog.get_by_text("team/app")).to_be_visible()
    dialog.get_by_role("searchbox", name="Search images").fill("priv-w")
    expect(dialog.get_by_text("team/app")).to_be_hidden()

    dialog.get_by_role("link", name="Tags of priv-w/app").click()
    tags = page.get_by_role("dialog", name="Choose a tag of priv-w/app")
    expect(tags.get_by_text("linux/amd64, linux/arm64").first).to_be_visible()
    tags.get_by_role("link", name=f"Choose {host('plat')}/priv-w/app:1.0").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    image = page.get_by_label("Image", exact=True)
    expect(image).to_have_value(f"{host('plat')}/priv-w/app:1.0")
    expect(image).to_be_focused()

    # Pinned by digest this time.
    page.get_by_role("link", name="Choose Image").click()
    dialog = page.get_by_role("dialog", name="Choose Image")
    dialog.get_by_role("tab", name="Private").click()
    dialog.get_by_role("link", name="Tags of priv-w/app").click()
    tags = page.get_by_role("dialog", name="Choose a tag of priv-w/app")
    tags.get_by_label("Pin by digest").check()
    tags.get_by_role("link", name=f"Choose {host('plat')}/priv-w/app:1.0").click()
    digest = image_world.digest("plat", "priv-w/app", "1.0")
    expect(image).to_have_value(f"{host('plat')}/priv-w/app@{digest}")

    page.get_by_label("Application name").fill("billing")
    page.get_by_label("Always pull image").check()
    page.get_by_role("button", name="Create manifest").click()
    manifest = page.locator("#manifest")
    expect(manifest).to_contain_text("kind: Deployment")
    expect(manifest).to_contain_text("imagePullSecrets:")
    expect(manifest).to_contain_text("name: registry-secret")
    expect(manifest).to_contain_text("imagePullPolicy: Always")
    expect(manifest).to_contain_text(f"image: {host('plat')}/priv-w/app@{digest}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download billing.yaml").click()
    assert download.value.suggested_filename == "billing.yaml"


def test_unbound_namespace_says_why_and_the_explainer_agrees(page, log_in, world):
    admin = make_user("platform-admin", admin=True)
    log_in(admin)
    namespace = world["namespaces"]["ns-free"]
    dialog = open_picker(page, namespace)
    expect(dialog.get_by_text("pub/app")).to_be_visible()
    dialog.get_by_role("tab", name="Private").click()
    reason = (
        "Namespace ns-free is not bound to a workspace, so only public images are available; "
        "ask an Admin to bind it in Namespaces."
    )
    expect(dialog.get_by_text(reason)).to_be_visible()

    page.goto(f"/explain/?namespace={namespace.pk}&image={host('plat')}/priv-w/app:1.0")
    expect(
        page.get_by_role("alert").filter(has_text="Failed: The namespace is bound to a workspace.")
    ).to_contain_text(reason)
    expect(page.get_by_text("Who can fix it: Admin").first).to_be_visible()


def test_after_an_admin_binds_the_space_the_private_image_appears(page, log_in, world):
    payments = world["workspaces"]["payments"]
    editor = make_user("editor", workspace=payments, role="editor")
    admin = make_user("platform-admin", admin=True)
    log_in(editor)
    namespace = world["namespaces"]["ns-w"]
    dialog = open_picker(page, namespace)
    dialog.get_by_role("tab", name="Private").click()
    dialog.get_by_role("searchbox", name="Search images").fill("priv-none")
    expect(dialog.get_by_text("No images match “priv-none” on either tab.")).to_be_visible()

    services.change_bindings(world["spaces"][("plat", "priv-none")], admin, add=[payments])

    dialog.get_by_role("searchbox", name="Search images").fill("priv-none/")
    expect(dialog.get_by_text("priv-none/app")).to_be_visible()
