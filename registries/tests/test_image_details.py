"""The repository page's details, scans and deletions against the Harbor double: what each role
may do, what the registry is asked, and that a refusal changes nothing."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from portal.models import AuditEvent
from registries import sync
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER, API
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag
from testkit.access import api_as

pytestmark = pytest.mark.integration

SCRIPTED = "# Payments API\n\n<script>alert('owned')</script>\n\n[click](javascript:alert(1)) **bold**"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def harbor(db, harbor_double, workspace, other_workspace):
    """Harbor with team-a (private, bound to payments), team-b (private, bound to search) and
    open (public); synced into Wharf."""
    harbor_double.add_repository("team-a", "app", tags=["1.0"], description=SCRIPTED, pull_count=42)
    harbor_double.add_artifact(
        "team-a", "app", ["multi", "edge"], platforms=["linux/amd64", "linux/arm64/v8"]
    )
    harbor_double.add_repository("team-b", "app", tags=["1.0"])
    harbor_double.add_project("open", public=True)
    harbor_double.add_repository("open", "tool", tags=["1.0"])
    registry = Registry(name="harbor-main", kind="harbor", url=harbor_double.url, username=ADMIN_USER)
    registry.set_password(ADMIN_PASSWORD)
    registry.save()
    sync.sync_registry(registry)
    RegistrySpace.objects.filter(registry=registry, name__in=["team-a", "team-b"]).update(
        visibility="private"
    )
    RegistrySpace.objects.filter(registry=registry, name="open").update(visibility="public")
    SpaceBinding.objects.create(
        space=RegistrySpace.objects.get(registry=registry, name="team-a"), workspace=workspace
    )
    SpaceBinding.objects.create(
        space=RegistrySpace.objects.get(registry=registry, name="team-b"), workspace=other_workspace
    )
    harbor_double.clear_requests()
    return registry


def repo(name: str) -> Repository:
    return Repository.objects.select_related("space__registry").get(name=name)


def tag(repository: str, name: str) -> Tag:
    return Tag.objects.get(repository__name=repository, name=name)


def login(client, user):
    client.force_login(user)
    return client


# Repository page ---------------------------------------------------------------------------


def test_description_is_markdown_and_no_script_of_the_registry_reaches_the_page(client, harbor, ws_viewer):
    response = login(client, ws_viewer).get(reverse("registries:repository", args=[repo("team-a/app").pk]))
    assert response.status_code == 200
    text = response.text
    assert "<h1>Payments API</h1>" in text
    assert "<strong>bold</strong>" in text
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert" in text  # shown as text, never run
    assert 'href="javascript:' not in text


def test_repository_page_shows_pulls_platforms_and_no_delete_for_a_viewer(client, harbor, ws_viewer):
    response = login(client, ws_viewer).get(reverse("registries:repository", args=[repo("team-a/app").pk]))
    assert "Pulls" in response.text and ">42<" in response.text
    assert "linux/amd64, linux/arm64/v8" in response.text
    assert "Layers" in response.text
    assert "Delete tag" not in response.text and "Delete repository" not in response.text


def test_repository_page_offers_deletion_to_an_editor(client, harbor, ws_editor):
    response = login(client, ws_editor).get(reverse("registries:repository", args=[repo("team-a/app").pk]))
    assert "Delete tag" in response.text and "Delete image" in response.text
    assert "Delete repository" in response.text


def test_repository_page_asks_the_registry_nothing(client, harbor, harbor_double, ws_editor):
    login(client, ws_editor).get(reverse("registries:repository", args=[repo("team-a/app").pk]))
    assert harbor_double.requests == []


# Layers ------------------------------------------------------------------------------------


def test_layers_of_a_multi_platform_image_list_each_platform_and_are_cached(
    client, harbor, harbor_double, ws_viewer
):
    repository = repo("team-a/app")
    digest = tag("team-a/app", "multi").digest
    url = reverse("registries:artifact-layers", args=[repository.pk, digest])
    response = login(client, ws_viewer).get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text  # the fragment
    assert "linux/amd64" in response.text and "linux/arm64/v8" in response.text
    assert "ADD rootfs-arm64.tar /" in response.text
    assert "RUN apk add curl" in response.text
    assert "application/vnd.oci.image.layer.v1.tar+gzip" in response.text
    asked = len(harbor_double.requests)
    assert asked > 0
    again = client.get(url)
    assert again.status_code == 200 and "ADD rootfs-amd64.tar /" in again.text
    assert len(harbor_double.requests) == asked  # digests do not change: served from the cache


def test_layers_of_a_digest_the_repository_does_not_have_are_404(client, harbor, ws_viewer):
    url = reverse("registries:artifact-layers", args=[repo("team-a/app").pk, tag("open/tool", "1.0").digest])
    assert login(client, ws_viewer).get(url).status_code == 404
    url = reverse("registries:artifact-layers", args=[repo("team-a/app").pk, "not-a-digest"])
    assert client.get(url).status_code == 404


def test_layers_say_why_when_the_registry_fails(client, harbor, harbor_double, ws_viewer):
    harbor_double.fail_on("/v2/", 500)
    digest = tag("team-a/app", "1.0").digest
    response = login(client, ws_viewer).get(
        reverse("registries:artifact-layers", args=[repo("team-a/app").pk, digest])
    )
    assert response.status_code == 200
    assert "The layers could not be read from the registry" in response.text


# Scans -------------------------------------------------------------------------------------


def test_scan_overview_shows_status_counts_scanner_and_time(client, harbor, harbor_double, ws_viewer):
    digest = tag("team-a/app", "1.0").digest
    harbor_double.set_scan("team-a/app", digest, counts={"Critical": 2, "High": 1, "Low": 4}, fixable=3)
    response = login(client, ws_viewer).get(
        reverse("registries:artifact-scan", args=[repo("team-a/app").pk, digest]),
        headers={"HX-Request": "true"},
    )
    text = response.text
    assert "Complete" in text
    assert "Critical 2" in text and "High 1" in text and "Medium 0" in text and "Low 4" in text
    assert "Scanner: Trivy v0.50.1" in text
    assert "7 vulnerabilities, 3 fixable" in text
    assert "2024-01-02 00:00" in text
    assert ">Scan</button>" not in text  # a Viewer may not ask for one


def test_an_image_never_scanned_says_not_scanned(client, harbor, ws_editor):
    digest = tag("team-a/app", "1.0").digest
    response = login(client, ws_editor).get(
        reverse("registries:artifact-scan", args=[repo("team-a/app").pk, digest])
    )
    assert "Not Scanned" in response.text
    assert ">Scan</button>" in response.text


@pytest.mark.parametrize(
    "status, shown", [("Pending", "Queued"), ("Running", "Scanning"), ("Error", "Error")]
)
def test_scan_states_read_as_harbor_shows_them(client, harbor, harbor_double, ws_viewer, status, shown):
    digest = tag("team-a/app", "1.0").digest
    harbor_double.set_scan("team-a/app", digest, status)
    response = login(client, ws_viewer).get(
        reverse("registries:artifact-scan", args=[repo("team-a/app").pk, digest])
    )
    assert f">{shown}</strong>" in response.text


def test_editor_asks_harbor_to_scan_and_it_is_audited(client, harbor, harbor_double, ws_editor):
    repository = repo("team-a/app")
    digest = tag("team-a/app", "1.0").digest
    response = login(client, ws_editor).post(
        reverse("registries:artifact-scan", args=[repository.pk, digest]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Harbor was asked to scan the image." in response.text
    assert ">Queued</strong>" in response.text
    assert len(harbor_double.requests_to(f"{API}/projects/team-a/repositories/app/artifacts/", "POST")) == 1
    event = AuditEvent.objects.get(action="image.scan")
    assert event.actor == ws_editor and digest in event.target_label


def test_viewer_cannot_ask_for_a_scan(client, harbor, harbor_double, ws_viewer):
    digest = tag("team-a/app", "1.0").digest
    response = login(client, ws_viewer).post(
        reverse("registries:artifact-scan", args=[repo("team-a/app").pk, digest])
    )
    assert response.status_code == 403
    assert harbor_double.requests_to(f"{API}/projects", "POST") == []
    assert not AuditEvent.objects.filter(action="image.scan").exists()


# Deletion ----------------------------------------------------------------------------------


def test_editor_deletes_a_tag_in_harbor_then_in_wharf(client, harbor, harbor_double, ws_editor):
    repository = repo("team-a/app")
    url = reverse("registries:tag-delete", args=[repository.pk, "edge"])
    page = login(client, ws_editor).get(url)
    assert page.status_code == 200 and 'Type <strong class="mono">edge</strong> to confirm.' in page.text
    response = client.post(url, {"confirm": "edge"})
    assert response.status_code == 302
    assert not Tag.objects.filter(repository=repository, name="edge").exists()
    assert Tag.objects.filter(repository=repository, name="multi").exists()  # same image, other tag
    assert [t.name for t in harbor_double.artifact("team-a/app", "multi").tags] == ["multi"]
    assert repo("team-a/app").tag_count == 2
    event = AuditEvent.objects.get(action="image.tag.delete")
    assert event.target_label == "team-a/app:edge" and event.actor == ws_editor


def test_wrong_confirmation_deletes_nothing(client, harbor, harbor_double, ws_admin):
    repository = repo("team-a/app")
    response = login(client, ws_admin).post(
        reverse("registries:tag-delete", args=[repository.pk, "edge"]), {"confirm": "multi"}
    )
    assert response.status_code == 400
    assert "Type edge to confirm." in response.text
    assert Tag.objects.filter(repository=repository, name="edge").exists()
    assert harbor_double.requests_to(f"{API}/projects", "DELETE") == []
    assert not AuditEvent.objects.filter(action__startswith="image.").exists()


def test_a_registry_failure_leaves_wharf_as_it_was_and_says_so(client, harbor, harbor_double, ws_admin):
    repository = repo("team-a/app")
    digest = tag("team-a/app", "1.0").digest
    harbor_double.fail_on(f"{API}/projects/team-a/repositories", 500, method="DELETE")
    response = login(client, ws_admin).post(
        reverse("registries:artifact-delete", args=[repository.pk, digest]),
        {"confirm": digest.partition(":")[2][:12]},
    )
    assert response.status_code == 409
    assert "failed on DELETE" in response.text
    assert Tag.objects.filter(repository=repository, name="1.0", digest=digest).exists()
    assert repo("team-a/app").tag_count == 3
    assert not AuditEvent.objects.filter(action__startswith="image.").exists()


def test_editor_deletes_an_image_with_every_tag_on_it(client, harbor, harbor_double, ws_editor):
    repository = repo("team-a/app")
    digest = tag("team-a/app", "multi").digest
    response = login(client, ws_editor).post(
        reverse("registries:artifact-delete", args=[repository.pk, digest]),
        {"confirm": digest.partition(":")[2][:12]},
    )
    assert response.status_code == 302
    assert set(repository.tags.values_list("name", flat=True)) == {"1.0"}
    assert harbor_double.artifact("team-a/app", digest) is None
    assert AuditEvent.objects.get(action="image.artifact.delete").before["tags"] == ["edge", "multi"]


def test_workspace_admin_deletes_a_repository(client, harbor, harbor_double, ws_admin):
    repository = repo("team-a/app")
    url = reverse("registries:repository-delete", args=[repository.pk])
    assert login(client, ws_admin).post(url, {"confirm": "app"}).status_code == 400
    response = client.post(url, {"confirm": "team-a/app"})
    assert response.status_code == 302
    assert not Repository.objects.filter(pk=repository.pk).exists()
    assert "team-a/app" not in harbor_double.repositories
    assert AuditEvent.objects.filter(action="image.repository.delete").count() == 1


@pytest.mark.parametrize(
    "persona, name, status",
    [
        ("ws_viewer", "team-a/app", 403),  # sees it, may not change it
        ("ws_editor", "open/tool", 403),  # public platform spaces are the Admins'
        ("ws_editor", "team-b/app", 404),  # another workspace's
        ("outsider", "team-a/app", 404),
        ("admin", "team-a/app", 404),  # Admins do not see tenants' private images
    ],
)
def test_who_may_not_delete_gets_403_or_404_and_nothing_changes(
    client, harbor, harbor_double, request, persona, name, status
):
    repository = repo(name)
    login(client, request.getfixturevalue(persona))
    urls = [
        reverse("registries:repository-delete", args=[repository.pk]),
        reverse("registries:tag-delete", args=[repository.pk, "1.0"]),
        reverse("registries:artifact-delete", args=[repository.pk, tag(name, "1.0").digest]),
    ]
    for url in urls:
        assert client.get(url).status_code == status
        assert client.post(url, {"confirm": name}).status_code == status
    assert Repository.objects.filter(pk=repository.pk).exists()
    assert Tag.objects.filter(repository=repository).count() == repository.tag_count
    assert harbor_double.requests_to(f"{API}/projects", "DELETE") == []


def test_admin_deletes_in_a_public_space(client, harbor, harbor_double, admin):
    repository = repo("open/tool")
    response = login(client, admin).post(
        reverse("registries:tag-delete", args=[repository.pk, "1.0"]), {"confirm": "1.0"}
    )
    assert response.status_code == 302
    assert not Tag.objects.filter(repository=repository).exists()


# REST API ----------------------------------------------------------------------------------


def test_api_repository_detail_sanitizes_and_says_what_the_user_may_do(harbor, ws_viewer, ws_editor):
    repository = repo("team-a/app")
    body = api_as(ws_viewer).get(f"/api/v1/repositories/{repository.pk}/").json()
    assert body["pull_count"] == 42 and body["scanning"] is True and body["may_push"] is False
    assert "<script>" not in body["description_html"] and "<h1>Payments API</h1>" in body["description_html"]
    assert api_as(ws_editor).get(f"/api/v1/repositories/{repository.pk}/").json()["may_push"] is True
    tags = api_as(ws_viewer).get(f"/api/v1/repositories/{repository.pk}/tags/").json()
    assert {t["name"] for t in tags["results"]} == {"1.0", "multi", "edge"}


def test_api_layers_and_scan(harbor, harbor_double, ws_editor):
    repository = repo("team-a/app")
    digest = tag("team-a/app", "1.0").digest
    client = api_as(ws_editor)
    layers = client.get(f"/api/v1/repositories/{repository.pk}/artifacts/{digest}/layers/").json()
    assert layers[0]["platform"] == "linux/amd64"
    assert [layer["created_by"] for layer in layers[0]["layers"]] == [
        "ADD rootfs-amd64.tar /",
        "RUN apk add curl",
    ]
    scan = client.get(f"/api/v1/repositories/{repository.pk}/artifacts/{digest}/scan/").json()
    assert scan["supported"] is True and scan["status"] == "not_scanned"
    response = client.post(f"/api/v1/repositories/{repository.pk}/artifacts/{digest}/scan/")
    assert response.status_code == 202
    assert (
        client.get(f"/api/v1/repositories/{repository.pk}/artifacts/{digest}/scan/").json()["status"]
        == "queued"
    )


def test_api_deletes_with_the_same_checks(harbor, harbor_double, ws_viewer, ws_editor, outsider):
    repository = repo("team-a/app")
    url = f"/api/v1/repositories/{repository.pk}/tags/edge/"
    assert api_as(outsider).delete(url, {"confirm": "edge"}, format="json").status_code == 404
    assert api_as(ws_viewer).delete(url, {"confirm": "edge"}, format="json").status_code == 403
    wrong = api_as(ws_editor).delete(url, {"confirm": "nope"}, format="json")
    assert wrong.status_code == 400 and list(wrong.json()) == ["confirm"]
    assert api_as(ws_editor).delete(url, {}, format="json").status_code == 400
    assert Tag.objects.filter(repository=repository, name="edge").exists()
    assert api_as(ws_editor).delete(url, {"confirm": "edge"}, format="json").status_code == 204
    assert not Tag.objects.filter(repository=repository, name="edge").exists()
    digest = tag("team-a/app", "1.0").digest
    harbor_double.fail_on(f"{API}/projects/team-a/repositories", 500, method="DELETE")
    refused = api_as(ws_editor).delete(
        f"/api/v1/repositories/{repository.pk}/artifacts/{digest}/",
        {"confirm": digest.partition(":")[2][:12]},
        format="json",
    )
    assert refused.status_code == 409 and "failed on DELETE" in refused.json()["detail"]
    assert Tag.objects.filter(repository=repository, name="1.0").exists()
    harbor_double.clear_faults()
    gone = api_as(ws_editor).delete(
        f"/api/v1/repositories/{repository.pk}/", {"confirm": "team-a/app"}, format="json"
    )
    assert gone.status_code == 204
    assert not Repository.objects.filter(pk=repository.pk).exists()


def test_api_scan_on_a_registry_without_scanning_says_not_supported(db, ws_editor, workspace):
    registry = Registry.objects.create(
        name="dist",
        kind="distribution",
        url="https://dist.example.com",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )
    space = RegistrySpace.objects.create(registry=registry, name="team", visibility="private")
    repository = Repository.objects.create(space=space, name="team/app", tag_count=1)
    digest = "sha256:" + "b" * 64
    Tag.objects.create(repository=repository, name="1.0", digest=digest)
    client = api_as(ws_editor)
    assert (
        client.get(f"/api/v1/repositories/{repository.pk}/artifacts/{digest}/scan/").json()["supported"]
        is False
    )
    refused = client.post(f"/api/v1/repositories/{repository.pk}/artifacts/{digest}/scan/")
    assert refused.status_code == 409 and "Not supported" in refused.json()["detail"]
