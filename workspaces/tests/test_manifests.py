"""Create by Image: the manifest builder, the page (with download) and the manifests API."""

import pytest
import yaml
from django.urls import reverse
from rest_framework.test import APIClient

from portal.models import AuditEvent
from registries.tests import image_world
from registries.tests.image_world import host
from workspaces import manifests
from workspaces.models import Namespace

PRIVATE_IMAGE = f"{host('plat')}/priv-w/app:1.0"
PUBLIC_IMAGE = f"{host('plat')}/pub/app:1.0"


@pytest.fixture
def world(workspace, other_workspace):
    return image_world.build({"payments": workspace, "search": other_workspace})


@pytest.fixture
def api():
    return APIClient()


# The builder --------------------------------------------------------------------------------


def test_deployment_for_a_private_image():
    manifest = manifests.deployment(
        namespace="payments-prod",
        name="web",
        image="h.example.com/t/app:1",
        replicas=3,
        container_port=8080,
        always_pull=True,
        private=True,
    )
    assert manifest["apiVersion"] == "apps/v1"
    assert manifest["kind"] == "Deployment"
    assert manifest["metadata"] == {"name": "web", "namespace": "payments-prod", "labels": {"app": "web"}}
    assert manifest["spec"]["replicas"] == 3
    assert manifest["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    template = manifest["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": "web"}
    assert template["spec"]["imagePullSecrets"] == [{"name": "registry-secret"}]
    assert template["spec"]["containers"] == [
        {
            "name": "web",
            "image": "h.example.com/t/app:1",
            "imagePullPolicy": "Always",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        }
    ]


def test_deployment_for_a_public_image_has_no_pull_secret_nor_policy():
    manifest = manifests.deployment(namespace="ns", name="web", image="h.example.com/t/app:1")
    spec = manifest["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in spec
    assert "imagePullPolicy" not in spec["containers"][0]
    assert "ports" not in spec["containers"][0]
    assert manifest["spec"]["replicas"] == 1


def test_yaml_round_trips_and_keeps_the_order():
    manifest = manifests.deployment(
        namespace="ns",
        name="web",
        image="h.example.com/t/app@sha256:" + "a" * 64,
        replicas=0,
        container_port=80,
        private=True,
    )
    text = manifests.to_yaml(manifest)
    assert yaml.safe_load(text) == manifest
    assert text.startswith("apiVersion: apps/v1\nkind: Deployment\n")
    assert manifests.filename("web") == "web.yaml"


# The page -----------------------------------------------------------------------------------


def form_data(ns, **overrides):
    data = {
        "namespace": ns.pk,
        "name": "web",
        "image": PRIVATE_IMAGE,
        "replicas": "2",
        "container_port": "8080",
    }
    data.update(overrides)
    return data


def manifest_in(response) -> dict:
    text = response.context["manifest"]
    return yaml.safe_load(text)


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor"])
def test_admin_and_editor_get_the_manifest_on_the_page(client, world, request, persona):
    client.force_login(request.getfixturevalue(persona))
    namespace = world["namespaces"]["ns-w"]
    response = client.post(reverse("registries:create-by-image"), form_data(namespace, always_pull="on"))
    assert response.status_code == 200
    manifest = manifest_in(response)
    assert manifest["metadata"]["namespace"] == "ns-w"
    pod = manifest["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "registry-secret"}]
    assert pod["containers"][0]["imagePullPolicy"] == "Always"
    assert pod["containers"][0]["image"] == PRIVATE_IMAGE
    assert "imagePullSecrets:" in response.text
    assert "Download web.yaml" in response.text


def test_public_image_needs_no_pull_secret(client, world, ws_editor):
    client.force_login(ws_editor)
    response = client.post(
        reverse("registries:create-by-image"), form_data(world["namespaces"]["ns-w"], image=PUBLIC_IMAGE)
    )
    pod = manifest_in(response)["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in pod
    assert "imagePullPolicy" not in pod["containers"][0]


def test_workspace_registry_image_is_private(client, world, ws_editor):
    client.force_login(ws_editor)
    response = client.post(
        reverse("registries:create-by-image"),
        form_data(world["namespaces"]["ns-w"], image=f"{host('own')}/open/app:1.0"),
    )
    assert manifest_in(response)["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "registry-secret"}
    ]


def test_download_is_a_yaml_file_named_after_the_app(client, world, ws_editor):
    client.force_login(ws_editor)
    response = client.post(
        reverse("registries:create-by-image-download"),
        form_data(world["namespaces"]["ns-w"], name="billing-api"),
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response["Content-Disposition"] == 'attachment; filename="billing-api.yaml"'
    manifest = yaml.safe_load(response.content)
    assert manifest["metadata"]["name"] == "billing-api"


def test_get_prefills_namespace_and_image_from_the_picker(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    response = client.get(
        reverse("registries:create-by-image"), {"namespace": namespace.pk, "image": PRIVATE_IMAGE}
    )
    assert response.status_code == 200
    assert f'value="{PRIVATE_IMAGE}"' in response.text
    assert f'<option value="{namespace.pk}" selected>' in response.text
    assert "Choose Image" in response.text
    assert f'hx-get="{reverse("registries:picker")}"' in response.text


def test_namespace_choices_are_only_where_the_user_may_use_images(client, world, ws_editor, admin):
    client.force_login(ws_editor)
    response = client.get(reverse("registries:create-by-image"))
    namespaces = world["namespaces"]
    assert f'<option value="{namespaces["ns-w"].pk}"' in response.text
    assert f'<option value="{namespaces["ns-o"].pk}"' not in response.text
    assert f'<option value="{namespaces["ns-free"].pk}"' not in response.text
    client.force_login(admin)
    response = client.get(reverse("registries:create-by-image"))
    assert f'<option value="{namespaces["ns-free"].pk}"' in response.text
    assert f'<option value="{namespaces["ns-w"].pk}"' not in response.text


def test_viewer_gets_403_on_get_and_post(client, world, ws_viewer):
    client.force_login(ws_viewer)
    namespace = world["namespaces"]["ns-w"]
    assert client.get(reverse("registries:create-by-image")).status_code == 403
    assert client.post(reverse("registries:create-by-image"), form_data(namespace)).status_code == 403
    assert (
        client.post(reverse("registries:create-by-image-download"), form_data(namespace)).status_code == 403
    )


def test_editor_of_one_workspace_and_viewer_of_another_gets_403_for_the_viewer_one(
    client, world, ws_editor, other_workspace
):
    other_workspace.memberships.create(user=ws_editor, role="viewer")
    client.force_login(ws_editor)
    response = client.post(reverse("registries:create-by-image"), form_data(world["namespaces"]["ns-o"]))
    assert response.status_code == 403


def test_another_workspaces_namespace_is_refused_on_the_field(client, world, ws_editor):
    client.force_login(ws_editor)
    response = client.post(reverse("registries:create-by-image"), form_data(world["namespaces"]["ns-o"]))
    assert response.status_code == 200
    assert response.context["form"].errors["namespace"]
    assert response.context["manifest"] is None


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(reverse("registries:create-by-image"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "Web_App", "Use at most 63 lowercase letters"),
        ("name", "-web", "Use at most 63 lowercase letters"),
        ("name", "a" * 64, "at most 63 characters"),
        ("name", "", "This field is required."),
        ("image", "Not An Image", "cannot contain spaces"),
        ("image", "h.example.com/a@sha256:1234", "exactly 64 lowercase hexadecimal"),
        ("image", "", "This field is required."),
        ("replicas", "-1", "greater than or equal to 0"),
        ("replicas", "1001", "less than or equal to 1000"),
        ("replicas", "many", "Enter a whole number."),
        ("container_port", "0", "greater than or equal to 1"),
        ("container_port", "65536", "less than or equal to 65535"),
        ("namespace", "999999", "Choose one of the namespaces listed"),
    ],
)
def test_bad_input_gets_a_message_on_the_field_and_changes_nothing(
    client, world, ws_editor, field, value, message
):
    client.force_login(ws_editor)
    namespaces_before = list(Namespace.objects.values_list("pk", "workspace_id"))
    response = client.post(
        reverse("registries:create-by-image"), form_data(world["namespaces"]["ns-w"], **{field: value})
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert response.context["manifest"] is None
    assert message.replace("'", "&#x27;") in response.text or message in response.text
    assert list(Namespace.objects.values_list("pk", "workspace_id")) == namespaces_before
    assert not AuditEvent.objects.exists()


def test_bad_input_on_download_shows_the_form_again(client, world, ws_editor):
    client.force_login(ws_editor)
    response = client.post(
        reverse("registries:create-by-image-download"),
        form_data(world["namespaces"]["ns-w"], replicas="5000"),
    )
    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert response.context["form"].errors["replicas"]


def test_image_error_links_to_the_explainer(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    response = client.post(reverse("registries:create-by-image"), form_data(namespace, image="bad ref"))
    assert f"{reverse('registries:explain')}?namespace={namespace.pk}" in response.text


# The API ------------------------------------------------------------------------------------


def manifests_url(world, namespace):
    return reverse("api:namespace-manifests", args=[world["namespaces"][namespace].pk])


def body(**overrides):
    data = {"name": "web", "image": PRIVATE_IMAGE, "replicas": 2, "container_port": 8080, "always_pull": True}
    data.update(overrides)
    return data


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor"])
def test_api_returns_the_deployment_yaml(api, world, request, persona):
    api.force_login(request.getfixturevalue(persona))
    response = api.post(manifests_url(world, "ns-w"), body(), format="json")
    assert response.status_code == 200
    assert response.data["filename"] == "web.yaml"
    assert response.data["private"] is True
    manifest = yaml.safe_load(response.data["manifest"])
    pod = manifest["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "registry-secret"}]
    assert pod["containers"][0]["imagePullPolicy"] == "Always"
    assert manifest["metadata"]["labels"] == {"app": "web"}
    assert manifest["metadata"]["namespace"] == "ns-w"


def test_api_answers_the_yaml_file_when_asked(api, world, ws_editor):
    api.force_login(ws_editor)
    response = api.post(
        manifests_url(world, "ns-w") + "?format=yaml", body(image=PUBLIC_IMAGE), format="json"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response["Content-Disposition"] == 'attachment; filename="web.yaml"'
    manifest = yaml.safe_load(response.content)
    assert "imagePullSecrets" not in manifest["spec"]["template"]["spec"]


def test_api_defaults(api, world, ws_editor):
    api.force_login(ws_editor)
    response = api.post(manifests_url(world, "ns-w"), {"name": "web", "image": PUBLIC_IMAGE}, format="json")
    manifest = yaml.safe_load(response.data["manifest"])
    assert manifest["spec"]["replicas"] == 1
    assert "imagePullPolicy" not in manifest["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Bad_Name"),
        ("name", "a" * 64),
        ("name", ""),
        ("image", "bad ref"),
        ("image", ""),
        ("image", "h.example.com/a@sha256:xyz"),
        ("replicas", -1),
        ("replicas", 1001),
        ("replicas", "x"),
        ("container_port", 0),
        ("container_port", 65536),
        ("always_pull", "maybe"),
    ],
)
def test_api_bad_input_is_400_with_field_errors(api, world, ws_editor, field, value):
    api.force_login(ws_editor)
    response = api.post(manifests_url(world, "ns-w"), body(**{field: value}), format="json")
    assert response.status_code == 400
    assert list(response.data) == [field]
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "persona, namespace, status",
    [
        ("ws_admin", "ns-w", 200),
        ("ws_editor", "ns-w", 200),
        ("ws_viewer", "ns-w", 403),
        ("ws_editor", "ns-o", 404),
        ("ws_editor", "ns-free", 404),
        ("outsider", "ns-w", 404),
        ("outsider", "ns-o", 200),
        ("admin", "ns-free", 200),
        ("admin", "ns-w", 404),
    ],
)
def test_api_namespace_scope_per_role(api, world, request, persona, namespace, status):
    api.force_login(request.getfixturevalue(persona))
    image = PUBLIC_IMAGE
    assert api.post(manifests_url(world, namespace), body(image=image), format="json").status_code == status


def test_api_unknown_namespace_and_anonymous(api, world, ws_editor):
    assert api.post(manifests_url(world, "ns-w"), body(), format="json").status_code == 401
    api.force_login(ws_editor)
    assert (
        api.post(reverse("api:namespace-manifests", args=[987654]), body(), format="json").status_code == 404
    )


def test_api_manifest_is_post_only(api, world, ws_editor):
    api.force_login(ws_editor)
    assert api.get(manifests_url(world, "ns-w")).status_code == 405
