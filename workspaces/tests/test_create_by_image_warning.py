"""Create by Image warns, without refusing, when the namespace may not pull the image: its
registry space is private and not bound to the namespace's workspace (the access rule, asked
through the explainer), and links "Why can't I see this image?" with both filled in."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from conftest import make_user
from registries.tests import image_world
from registries.tests.image_world import host

WARNING = "may not be able to pull this image"


@pytest.fixture
def world(workspace, other_workspace):
    return image_world.build({"payments": workspace, "search": other_workspace})


def create(client, namespace, image):
    return client.post(
        reverse("registries:create-by-image"),
        {"namespace": namespace.pk, "name": "web", "image": image, "replicas": "1", "container_port": "80"},
    )


def explainer_link(html) -> dict:
    warning = re.search(
        r'<div class="warning" role="alert" id="image-warning">(.*?)</div>', html, re.S
    ).group(1)
    href = unescape(re.search(r'<a href="([^"]+)">Why can', warning).group(1))
    parts = urlsplit(href)
    assert parts.path == reverse("registries:explain")
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


def test_editor_is_warned_about_another_workspaces_private_space(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    image = f"{host('plat')}/priv-o/app:1.0"
    response = create(client, namespace, image)
    assert response.status_code == 200
    assert "Namespace ns-w " + WARNING in response.text
    assert "not available to workspace payments" in response.text
    # A warning, not a refusal: the manifest is there.
    assert response.context["manifest"]
    assert explainer_link(response.text) == {"namespace": str(namespace.pk), "image": image}


def test_admin_is_told_the_space_is_private_and_not_bound(client, world, workspace):
    # An Admin who is also an Editor of payments, so ns-w is theirs to deploy to.
    client.force_login(make_user("admin-editor", admin=True, workspace=workspace, role="editor"))
    namespace = world["namespaces"]["ns-w"]
    response = create(client, namespace, f"{host('plat')}/priv-none/app:1.0")
    assert WARNING in response.text
    assert "is private and not bound to workspace payments" in response.text


def test_namespace_without_workspace_is_warned_about_a_private_image(client, world, admin):
    client.force_login(admin)
    response = create(client, world["namespaces"]["ns-free"], f"{host('plat')}/priv-w/app:1.0")
    assert "Namespace ns-free " + WARNING in response.text
    assert response.context["manifest"]


@pytest.mark.parametrize(
    "image", [f"{host('plat')}/priv-w/app:1.0", f"{host('plat')}/pub/app:1.0", f"{host('own')}/team/app:1.0"]
)
def test_usable_images_get_no_warning(client, world, ws_editor, image):
    client.force_login(ws_editor)
    response = create(client, world["namespaces"]["ns-w"], image)
    assert response.context["manifest"]
    assert WARNING not in response.text


def test_an_unknown_registry_is_not_this_warning(client, world, ws_editor):
    # The explainer answers that one (no registry with that host); the manifest page does not guess.
    client.force_login(ws_editor)
    response = create(client, world["namespaces"]["ns-w"], "docker.io/library/nginx:1.27")
    assert response.context["manifest"]
    assert WARNING not in response.text


def test_warning_costs_a_constant_number_of_queries(client, world, ws_editor, django_assert_max_num_queries):
    client.force_login(ws_editor)
    with django_assert_max_num_queries(25):
        create(client, world["namespaces"]["ns-w"], f"{host('plat')}/priv-o/app:1.0")
