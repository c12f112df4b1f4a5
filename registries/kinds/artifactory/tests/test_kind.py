"""JFrog Artifactory as a kind of registry, end to end against its HTTP double (no mocks).

An Admin integrates one through the page (platform scope) and a Workspace Admin through the
workspace registry API (workspace scope), both after the client's connection check; sync lists
its Docker repositories (local, remote, virtual) as spaces, which start private; a bound private
space shows its images to the workspace's namespaces in Choose Image; Wharf creates no spaces
in Artifactory; a tag is deleted in a local repository and a virtual one says it cannot.
"""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from conftest import make_user
from portal.models import AuditEvent
from registries import services
from registries.kinds.artifactory.tests.double import ADMIN_PASSWORD, ADMIN_USER
from registries.models import Registry, Repository, Tag
from registries.sync import sync_registry
from workspaces.models import Cluster, Namespace

SPACES = {"docker-local", "docker-remote", "docker-virtual"}
CREATE_UNAVAILABLE = "Create registry space is not available for JFrog Artifactory"
TYPE_IS_WHARFS = "Artifactory&#x27;s own permissions decide who can pull"
OWN_CREDENTIALS = "Workspaces and clusters pull with their own Artifactory credentials"


@pytest.fixture
def artifactory(artifactory_double):
    """Three Docker repositories (a local one, a remote one's cache, a virtual one over both)
    and a Maven repository, which is no space."""
    double = artifactory_double
    double.add_repository("docker-local", "local", description="Our images")
    double.add_repository("docker-remote", "remote")
    double.add_repository("docker-virtual", "virtual", members=["docker-local", "docker-remote"])
    double.add_repository("libs-release", "local", package_type="maven")
    double.add_image("docker-local", "app", tags=("1.0", "2.0"))
    double.add_image("docker-local", "tools/cli", tags=("latest",), platforms=("linux/amd64", "linux/arm64"))
    double.add_image("docker-remote", "nginx", tags=("1.25",))
    return double


@pytest.fixture
def loopback_allowed(settings):
    # The double listens on 127.0.0.1, which workspace registries may not reach by default.
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def api():
    return APIClient()


def form_data(double, **overrides):
    data = {
        "kind": "artifactory",
        "name": "jfrog",
        "url": double.url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "verify_tls": "on",
        "ca_bundle": "",
    }
    data.update(overrides)
    return data


def api_data(double, **overrides):
    data = {
        "kind": "artifactory",
        "name": "team-jfrog",
        "url": double.url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "verify_tls": True,
        "ca_bundle": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def platform_artifactory(artifactory, admin):
    registry = services.save_registry(
        Registry(name="jfrog", kind="artifactory", url=artifactory.url, username=ADMIN_USER),
        admin,
        password=ADMIN_PASSWORD,
    )
    sync_registry(registry)
    return registry


@pytest.fixture
def team_artifactory(api, artifactory, loopback_allowed, ws_admin, workspace):
    api.force_login(ws_admin)
    response = api.post(
        f"/api/v1/workspaces/{workspace.pk}/registries/", api_data(artifactory), format="json"
    )
    assert response.status_code == 201, response.json()
    return Registry.objects.get(pk=response.json()["id"])


def sync_now(client, registry):
    response = client.post(reverse("registries:sync", args=[registry.pk]))
    assert response.status_code == 302


# Integrating -------------------------------------------------------------------------------


def test_an_admin_integrates_an_artifactory_through_the_page_after_the_connection_check(
    client, admin, artifactory
):
    client.force_login(admin)
    response = client.post(reverse("registries:create"), form_data(artifactory))
    registry = Registry.objects.get(name="jfrog")
    assert response.status_code == 302
    assert (registry.kind, registry.scope, registry.status) == ("artifactory", "platform", "healthy")
    assert registry.get_password() == ADMIN_PASSWORD
    assert artifactory.requests_to("/artifactory/api/system/version")
    assert ADMIN_PASSWORD not in str(AuditEvent.objects.get(action="registry.create").after)
    # Integrating starts a sync (the tests' task backend runs it at once).
    assert set(registry.spaces.values_list("name", flat=True)) == SPACES


def test_the_integrate_form_offers_artifactory_and_says_where_an_access_token_goes(client, admin):
    client.force_login(admin)
    page = client.get(reverse("registries:create")).text
    assert '<option value="artifactory">JFrog Artifactory</option>' in page
    assert "an access token (with the token&#x27;s user name above, or with no user name at all)" in page


def test_an_access_token_alone_in_the_password_field_is_enough(client, admin, artifactory):
    token = artifactory.add_token("eyJ2ZXIiOiIyIn0.wharf-test-token")
    client.force_login(admin)
    response = client.post(reverse("registries:create"), form_data(artifactory, username="", password=token))
    assert response.status_code == 302
    registry = Registry.objects.get(name="jfrog")
    assert registry.username == "" and registry.get_password() == token
    assert (
        artifactory.requests_to("/artifactory/api/system/version")[-1].headers["authorization"]
        == f"Bearer {token}"
    )


def test_wrong_credentials_show_the_clients_message_and_create_nothing(client, admin, artifactory):
    client.force_login(admin)
    response = client.post(reverse("registries:create"), form_data(artifactory, password="wrong-pw"))
    assert response.status_code == 200
    assert "did not accept the user name and password (or access token)" in response.text
    assert "wrong-pw" not in response.text
    assert not Registry.objects.exists() and not AuditEvent.objects.exists()


def test_a_workspace_admin_integrates_an_artifactory_through_the_api(
    team_artifactory, workspace, ws_admin, artifactory
):
    registry = team_artifactory
    assert (registry.scope, registry.workspace, registry.status) == ("workspace", workspace, "healthy")
    assert AuditEvent.objects.get(action="registry.create").actor == ws_admin
    assert set(registry.spaces.values_list("name", flat=True)) == SPACES
    # The workspace page's kind list offers it too.
    client = APIClient()
    client.force_login(ws_admin)
    page = client.get(reverse("registries:workspace-create"), {"workspace": workspace.pk}).content.decode()
    assert '<option value="artifactory">JFrog Artifactory</option>' in page


def test_a_workspace_admin_integrates_one_on_the_workspaces_registry_page(
    client, ws_admin, workspace, artifactory, loopback_allowed
):
    client.force_login(ws_admin)
    response = client.post(
        f"{reverse('registries:workspace-create')}?workspace={workspace.pk}",
        form_data(artifactory, name="team-jfrog"),
    )
    registry = Registry.objects.get(name="team-jfrog")
    assert response.status_code == 302
    assert response["Location"] == reverse("registries:workspace-detail", args=[registry.pk])
    assert (registry.kind, registry.scope, registry.workspace) == ("artifactory", "workspace", workspace)
    assert set(registry.spaces.values_list("name", flat=True)) == SPACES


def test_wrong_credentials_through_the_workspace_api_are_a_400_that_creates_nothing(
    api, ws_admin, workspace, artifactory, loopback_allowed
):
    api.force_login(ws_admin)
    response = api.post(
        f"/api/v1/workspaces/{workspace.pk}/registries/",
        api_data(artifactory, password="wrong-pw"),
        format="json",
    )
    assert response.status_code == 400
    assert "did not accept the user name and password (or access token)" in response.text
    assert "wrong-pw" not in response.text
    assert not Registry.objects.exists()


# Sync ----------------------------------------------------------------------------------------


def test_sync_lists_the_docker_repositories_as_private_spaces_with_their_images_and_tags(
    client, admin, platform_artifactory, artifactory
):
    client.force_login(admin)
    sync_now(client, platform_artifactory)
    spaces = dict(platform_artifactory.spaces.values_list("name", "visibility"))
    assert spaces == {name: "private" for name in SPACES}
    repositories = {
        repository.name: sorted(repository.tags.values_list("name", flat=True))
        for repository in Repository.objects.filter(space__registry=platform_artifactory)
    }
    assert repositories == {
        "docker-local/app": ["1.0", "2.0"],
        "docker-local/tools/cli": ["latest"],
        "docker-remote/nginx": ["1.25"],
        # A virtual repository serves its members' images under its own key.
        "docker-virtual/app": ["1.0", "2.0"],
        "docker-virtual/tools/cli": ["latest"],
        "docker-virtual/nginx": ["1.25"],
    }
    digest = artifactory.tags("docker-local", "app")["1.0"]
    assert Tag.objects.get(repository__name="docker-local/app", name="1.0").digest == digest


def test_a_space_made_public_stays_public_across_syncs(client, admin, platform_artifactory):
    client.force_login(admin)
    space = platform_artifactory.spaces.get(name="docker-remote")
    services.set_visibility(space, admin, "public")
    sync_now(client, platform_artifactory)
    space.refresh_from_db()
    assert space.visibility == "public"


def test_a_repository_removed_from_artifactory_goes_missing_at_the_next_sync(client, admin, artifactory):
    artifactory.add_repository("docker-empty", "local")
    registry = services.save_registry(
        Registry(name="jfrog", kind="artifactory", url=artifactory.url, username=ADMIN_USER),
        admin,
        password=ADMIN_PASSWORD,
    )
    sync_registry(registry)
    assert not registry.spaces.get(name="docker-empty").missing
    with artifactory.lock:
        del artifactory.repositories["docker-empty"]
    client.force_login(admin)
    sync_now(client, registry)
    # Empty and unlisted: Wharf never records Artifactory spaces of its own, so it is gone.
    assert registry.spaces.get(name="docker-empty").missing


# Pages and spaces ------------------------------------------------------------------------------


def test_the_pages_show_the_kinds_notices_and_offer_no_space_creation(client, admin, platform_artifactory):
    client.force_login(admin)
    detail = client.get(reverse("registries:detail", args=[platform_artifactory.pk])).content.decode()
    assert OWN_CREDENTIALS in detail
    assert "Go to native registry" in detail
    assert 'id="token-service"' not in detail
    spaces = client.get(reverse("registries:spaces", args=[platform_artifactory.pk])).content.decode()
    assert "Spaces are Artifactory&#x27;s Docker repositories (local, remote and virtual)" in spaces
    assert TYPE_IS_WHARFS in spaces
    assert "Create registry space" not in spaces
    dialog = client.get(
        reverse("registries:space-create", args=[platform_artifactory.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert CREATE_UNAVAILABLE in dialog
    assert 'name="name"' not in dialog


def test_creating_a_space_is_refused_on_the_page_and_in_the_api(
    client, admin, platform_artifactory, artifactory
):
    client.force_login(admin)
    before = set(platform_artifactory.spaces.values_list("name", flat=True))
    response = client.post(
        reverse("registries:space-create", args=[platform_artifactory.pk]),
        {"name": "new-space", "visibility": "private"},
    )
    assert response.status_code == 422
    assert CREATE_UNAVAILABLE in response.content.decode()
    api = APIClient()
    api.force_login(admin)
    response = api.post(
        f"/api/v1/registries/{platform_artifactory.pk}/spaces/",
        {"name": "new-space", "visibility": "private"},
        format="json",
    )
    assert response.status_code == 400
    assert CREATE_UNAVAILABLE in response.content.decode()
    assert set(platform_artifactory.spaces.values_list("name", flat=True)) == before
    assert not AuditEvent.objects.filter(action="space.create").exists()
    # Nothing was asked of Artifactory: it has no call for creating a repository here.
    assert not artifactory.requests_to("/artifactory/api/repositories/new-space")


def test_the_workspace_registry_page_shows_the_kinds_notice(client, team_artifactory, ws_viewer):
    client.force_login(ws_viewer)
    page = client.get(reverse("registries:workspace-detail", args=[team_artifactory.pk])).content.decode()
    assert OWN_CREDENTIALS in page
    assert "docker-virtual" in page


def test_image_references_leave_out_artifactorys_context_path():
    assert Registry(kind="artifactory", url="https://acme.jfrog.io/artifactory").host == "acme.jfrog.io"
    assert Registry(kind="artifactory", url="https://art.example.com:8443").host == "art.example.com:8443"


# Binding and Choose Image ----------------------------------------------------------------------


def test_a_bound_private_space_shows_its_images_to_that_workspaces_namespace_only(
    client, api, admin, platform_artifactory, artifactory, workspace, other_workspace, ws_viewer
):
    space = platform_artifactory.spaces.get(name="docker-local")
    client.force_login(admin)
    response = client.post(
        reverse("registries:space-bindings", args=[platform_artifactory.pk, space.pk]),
        {"workspaces": [workspace.pk]},
    )
    assert response.status_code == 302
    assert list(space.workspaces.all()) == [workspace]
    cluster = Cluster.objects.create(name="prod")
    ours = Namespace.objects.create(cluster=cluster, name="payments-prod", workspace=workspace)
    theirs = Namespace.objects.create(cluster=cluster, name="search-prod", workspace=other_workspace)
    outsider = make_user("search-viewer", workspace=other_workspace, role="viewer")
    host = artifactory.url.split("://", 1)[1]

    api.force_login(ws_viewer)
    listed = api.get(f"/api/v1/namespaces/{ours.pk}/images/", {"tab": "private"}).json()
    images = {item["name"]: item["image"] for item in listed["results"]}
    assert images == {
        "docker-local/app": f"{host}/docker-local/app",
        "docker-local/tools/cli": f"{host}/docker-local/tools/cli",
    }
    app = Repository.objects.get(name="docker-local/app")
    tags = api.get(f"/api/v1/namespaces/{ours.pk}/images/{app.pk}/tags/").json()
    assert {tag["name"]: tag["image"] for tag in tags["results"]} == {
        "1.0": f"{host}/docker-local/app:1.0",
        "2.0": f"{host}/docker-local/app:2.0",
    }
    picker = (
        logged_in(ws_viewer)
        .get(reverse("registries:picker"), {"namespace": ours.pk, "tab": "private"})
        .content.decode()
    )
    assert "docker-local/app" in picker

    api.force_login(outsider)
    theirs_listed = api.get(f"/api/v1/namespaces/{theirs.pk}/images/", {"tab": "private"}).json()
    assert theirs_listed["count"] == 0
    assert api.get(f"/api/v1/namespaces/{theirs.pk}/images/{app.pk}/tags/").status_code == 404
    # Nor is any of it public.
    public = api.get(f"/api/v1/namespaces/{theirs.pk}/images/", {"tab": "public"}).json()
    assert public["count"] == 0


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


# Deleting images -------------------------------------------------------------------------------


def test_a_tag_is_deleted_in_a_local_repository(client, team_artifactory, ws_admin, artifactory):
    tag = Tag.objects.get(repository__name="docker-local/app", name="1.0")
    client.force_login(ws_admin)
    response = client.post(
        reverse("registries:tag-delete", args=[tag.repository.pk, "1.0"]), {"confirm": "1.0"}
    )
    assert response.status_code == 302
    assert set(artifactory.tags("docker-local", "app")) == {"2.0"}
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert artifactory.requests_to("/artifactory/docker-local/app/1.0", "DELETE")
    assert AuditEvent.objects.filter(action="image.tag.delete").exists()


def test_deleting_a_tag_in_a_virtual_repository_says_it_is_not_supported(
    client, team_artifactory, ws_admin, artifactory
):
    tag = Tag.objects.get(repository__name="docker-virtual/app", name="1.0")
    client.force_login(ws_admin)
    response = client.post(
        reverse("registries:tag-delete", args=[tag.repository.pk, "1.0"]), {"confirm": "1.0"}
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "Not supported by this registry" in text and "virtual repository" in text
    assert set(artifactory.tags("docker-local", "app")) == {"1.0", "2.0"}
    assert Tag.objects.filter(pk=tag.pk).exists()
    assert not artifactory.requests_to("/artifactory/docker-virtual", "DELETE")
    assert not AuditEvent.objects.filter(action="image.tag.delete").exists()


def test_an_admin_integrates_one_through_the_api_with_an_access_token_for_a_user(api, admin, artifactory):
    token = artifactory.add_token("reference-token-of-admin")
    api.force_login(admin)
    response = api.post(
        "/api/v1/registries/", api_data(artifactory, name="jfrog-api", password=token), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "artifactory"
    assert token not in response.text
    # A user name with a token in the password's place: Basic, as Artifactory documents.
    assert (
        artifactory.requests_to("/artifactory/api/system/version")[-1]
        .headers["authorization"]
        .startswith("Basic ")
    )


# Deleting spaces -------------------------------------------------------------------------------


def test_an_empty_repository_is_not_deleted_from_artifactory_but_a_missing_space_leaves_wharf(
    api, admin, artifactory
):
    artifactory.add_repository("docker-empty", "local")
    artifactory.add_repository("docker-gone", "local")
    registry = services.save_registry(
        Registry(name="jfrog", kind="artifactory", url=artifactory.url, username=ADMIN_USER),
        admin,
        password=ADMIN_PASSWORD,
    )
    sync_registry(registry)
    with artifactory.lock:
        del artifactory.repositories["docker-gone"]
    sync_registry(registry)
    api.force_login(admin)
    empty = registry.spaces.get(name="docker-empty")
    response = api.delete(f"/api/v1/spaces/{empty.pk}/")
    assert response.status_code == 400
    assert "Wharf does not delete Artifactory repositories" in response.text
    assert registry.spaces.filter(pk=empty.pk).exists() and "docker-empty" in artifactory.repositories
    gone = registry.spaces.get(name="docker-gone")
    assert gone.missing
    assert api.delete(f"/api/v1/spaces/{gone.pk}/").status_code == 204
    assert not registry.spaces.filter(pk=gone.pk).exists()
