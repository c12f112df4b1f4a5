"""Where members find "Request access": the Images page, the picker's empty Private tab and
the explainer; offered by role, and the same whether or not the space exists."""

import pytest
from django.urls import reverse

from registries.tests import image_world
from registries.tests.image_world import host


@pytest.fixture
def world(workspace, other_workspace):
    return image_world.build({"payments": workspace, "search": other_workspace})


REQUEST = reverse("access_requests:create")


def explain_page(client, world, space):
    namespace = world["namespaces"]["ns-w"]
    response = client.get(
        reverse("registries:explain"),
        {"namespace": namespace.pk, "image": f"{host('plat')}/{space}/app:1.0"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor"])
def test_the_explainer_offers_the_request_alike_for_a_private_space_and_no_such_space(
    client, world, request, persona
):
    client.force_login(request.getfixturevalue(persona))
    private = explain_page(client, world, "priv-o")
    unknown = explain_page(client, world, "nowhere")
    assert private.replace("priv-o", "SPACE") == unknown.replace("nowhere", "SPACE")
    workspace = world["namespaces"]["ns-w"].workspace_id
    registry = world["registries"]["plat"].pk
    assert f"{REQUEST}?workspace={workspace}&amp;registry={registry}&amp;space=priv-o" in private
    assert "Request priv-o for this workspace" in private


def test_the_explainer_offers_no_request_to_a_viewer_or_for_a_usable_space(
    client, world, ws_viewer, ws_editor
):
    client.force_login(ws_viewer)
    assert REQUEST not in explain_page(client, world, "priv-o")
    client.force_login(ws_editor)
    assert REQUEST not in explain_page(client, world, "priv-w")  # bound to payments: nothing fails


def test_the_images_page_offers_the_request_to_editors_only(client, world, ws_editor, ws_viewer):
    client.force_login(ws_editor)
    assert "Request a private registry space" in client.get(reverse("registries:images")).text
    client.force_login(ws_viewer)
    assert "Request a private registry space" not in client.get(reverse("registries:images")).text


def test_the_pickers_empty_private_tab_offers_the_request(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    page = client.get(
        reverse("registries:picker"),
        {"namespace": namespace.pk, "tab": "private", "q": "no-image-has-this-name"},
    )
    assert page.status_code == 200
    assert "Request a private registry space for this workspace" in page.text
    page = client.get(reverse("registries:picker"), {"namespace": namespace.pk, "tab": "private"})
    assert "Request a private registry space for this workspace" not in page.text  # it lists images
