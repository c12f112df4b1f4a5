"""Layers and deletion against a real docker-registry, with skopeo as the client that notices."""

import os
import subprocess

import pytest
from django.core.cache import cache
from django.urls import reverse

from registries import sync
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def skopeo_inspect(server, ref: str) -> tuple[bool, str]:
    command = [
        server.skopeo,
        "--insecure-policy",
        "inspect",
        "--tls-verify=false",
        "--no-creds",
        f"docker://{server.host}/{ref}",
    ]
    env = {
        **os.environ,
        "TMPDIR": str(server.workdir),
        "REGISTRY_AUTH_FILE": str(server.workdir / "auth.json"),
    }
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    return result.returncode == 0, result.stderr


def wharf_registry(server, workspace) -> Registry:
    """The docker-registry as an Admin's registry whose team-a space is bound to ``workspace``."""
    registry = Registry.objects.create(name="dist", kind="distribution", url=server.url)
    sync.sync_registry(registry)
    space = RegistrySpace.objects.get(registry=registry, name="team-a")
    space.visibility = "private"
    space.save()
    SpaceBinding.objects.create(space=space, workspace=workspace)
    return registry


@pytest.fixture
def pushed(registry_factory, oci_images):
    server = registry_factory()
    server.push(oci_images["team-a/api:1.0"], "team-a/api:1.0")
    server.push(oci_images["team-a/api:1.0"], "team-a/api:stable", source_tag="1.0")
    server.push(oci_images["team-a/api:1.1"], "team-a/api:1.1")
    server.push(oci_images["team-b/multi:1.0"], "team-a/multi:1.0")
    return server


def test_layers_are_read_from_the_registry_with_their_history(client, db, pushed, workspace, ws_viewer):
    wharf_registry(pushed, workspace)
    client.force_login(ws_viewer)
    for name in ("team-a/api", "team-a/multi"):
        repository = Repository.objects.get(name=name)
        digest = repository.tags.get(name="1.0").digest
        response = client.get(reverse("registries:artifact-layers", args=[repository.pk, digest]))
        assert response.status_code == 200
        assert "application/vnd.oci.image.layer.v1.tar+gzip" in response.text
        assert "wharf test layout builder" in response.text  # the config history's created_by
    multi = client.get(
        reverse(
            "registries:artifact-layers",
            args=[
                Repository.objects.get(name="team-a/multi").pk,
                Tag.objects.get(repository__name="team-a/multi").digest,
            ],
        )
    )
    assert "linux/amd64" in multi.text and "linux/arm64" in multi.text


def test_deleting_a_tag_removes_only_that_tag_and_skopeo_is_refused(client, db, pushed, workspace, ws_editor):
    wharf_registry(pushed, workspace)
    repository = Repository.objects.get(name="team-a/api")
    assert skopeo_inspect(pushed, "team-a/api:1.0")[0]
    client.force_login(ws_editor)
    response = client.post(reverse("registries:tag-delete", args=[repository.pk, "1.0"]), {"confirm": "1.0"})
    assert response.status_code == 302
    ok, stderr = skopeo_inspect(pushed, "team-a/api:1.0")
    assert not ok and "manifest unknown" in stderr.lower()
    # The same image under its other tag stays, as does the rest of the repository.
    assert skopeo_inspect(pushed, "team-a/api:stable")[0]
    assert skopeo_inspect(pushed, "team-a/api:1.1")[0]
    assert set(repository.tags.values_list("name", flat=True)) == {"stable", "1.1"}
    # The next sync agrees with what Wharf wrote.
    sync.sync_registry(repository.space.registry)
    assert set(repository.tags.values_list("name", flat=True)) == {"stable", "1.1"}


def test_deleting_an_image_and_a_repository(client, db, pushed, workspace, ws_admin):
    wharf_registry(pushed, workspace)
    repository = Repository.objects.get(name="team-a/api")
    digest = repository.tags.get(name="1.0").digest
    client.force_login(ws_admin)
    response = client.post(
        reverse("registries:artifact-delete", args=[repository.pk, digest]),
        {"confirm": digest.partition(":")[2][:12]},
    )
    assert response.status_code == 302
    assert not skopeo_inspect(pushed, "team-a/api:1.0")[0]
    assert not skopeo_inspect(pushed, "team-a/api:stable")[0]
    assert skopeo_inspect(pushed, "team-a/api:1.1")[0]
    response = client.post(
        reverse("registries:repository-delete", args=[repository.pk]), {"confirm": "team-a/api"}
    )
    assert response.status_code == 302
    assert not skopeo_inspect(pushed, "team-a/api:1.1")[0]
    assert not Repository.objects.filter(name="team-a/api").exists()
    assert skopeo_inspect(pushed, "team-a/multi:1.0")[0]


def test_a_registry_without_deletion_says_not_supported_and_nothing_changes(
    client, db, registry_factory, oci_images, workspace, ws_editor
):
    server = registry_factory(extra={"storage": {"delete": {"enabled": False}}})
    server.push(oci_images["team-a/api:1.0"], "team-a/api:1.0")
    wharf_registry(server, workspace)
    repository = Repository.objects.get(name="team-a/api")
    digest = repository.tags.get(name="1.0").digest
    client.force_login(ws_editor)
    response = client.post(
        reverse("registries:artifact-delete", args=[repository.pk, digest]),
        {"confirm": digest.partition(":")[2][:12]},
    )
    assert response.status_code == 409
    assert "Not supported by this registry" in response.text
    assert repository.tags.filter(name="1.0").exists()
    assert skopeo_inspect(server, "team-a/api:1.0")[0]


def test_a_tag_on_a_registry_without_deletion_is_left_where_it_was(
    client, db, registry_factory, oci_images, workspace, ws_editor
):
    server = registry_factory(extra={"storage": {"delete": {"enabled": False}}})
    server.push(oci_images["team-a/api:1.0"], "team-a/api:1.0")
    wharf_registry(server, workspace)
    repository = Repository.objects.get(name="team-a/api")
    before = repository.tags.get(name="1.0").digest
    client.force_login(ws_editor)
    response = client.post(reverse("registries:tag-delete", args=[repository.pk, "1.0"]), {"confirm": "1.0"})
    assert response.status_code == 409
    assert "Not supported by this registry" in response.text
    sync.sync_registry(repository.space.registry)
    assert repository.tags.get(name="1.0").digest == before  # not moved onto a placeholder
