"""The table of kinds: what each kind says it can do is what the pages and filters show."""

import pytest
from django.urls import reverse

from registries import kinds
from registries.clients.base import Connection, Unsupported
from registries.kinds.artifactory.client import ArtifactoryClient
from registries.kinds.distribution.client import DistributionClient
from registries.kinds.distribution.kind import Distribution
from registries.kinds.harbor.client import HarborClient
from registries.models import Registry, RegistrySpace

NO_ACCESS_CONTROL = "A Docker Registry has no access control of its own"
SPACES_APPEAR = "A Docker Registry has no projects: its spaces appear when images are pushed"
TOKEN_SNIPPET = 'id="token-service"'
ONLY_RECORDED = "A Docker Registry has no projects: the space is recorded in Wharf"


def registry(kind, **fields):
    return Registry.objects.create(
        name=f"{kind}-main", kind=kind, url=f"https://{kind}.example.com", **fields
    )


def page(client, name, registry):
    response = client.get(reverse(name, args=[registry.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_docker_registry_without_the_token_service_says_its_spaces_are_public(client, admin):
    docker = registry("distribution")
    client.force_login(admin)
    detail = page(client, "registries:detail", docker)
    assert NO_ACCESS_CONTROL in detail
    assert TOKEN_SNIPPET in detail  # what to paste into its configuration to turn it on
    assert SPACES_APPEAR in page(client, "registries:spaces", docker)


def test_a_docker_registry_behind_the_token_service_no_longer_says_so(client, admin):
    docker = registry("distribution", token_service=True)
    client.force_login(admin)
    detail = page(client, "registries:detail", docker)
    assert NO_ACCESS_CONTROL not in detail
    assert TOKEN_SNIPPET in detail
    assert SPACES_APPEAR not in page(client, "registries:spaces", docker)


def test_a_harbor_shows_none_of_the_docker_registry_notices(client, admin):
    harbor = registry("harbor")
    RegistrySpace.objects.create(registry=harbor, name="team-a", visibility="private")
    client.force_login(admin)
    detail = page(client, "registries:detail", harbor)
    assert NO_ACCESS_CONTROL not in detail and TOKEN_SNIPPET not in detail
    assert SPACES_APPEAR not in page(client, "registries:spaces", harbor)
    assert ONLY_RECORDED not in page(client, "registries:space-create", harbor)


def test_creating_a_docker_registry_space_says_it_is_only_recorded(client, admin):
    docker = registry("distribution")
    client.force_login(admin)
    assert ONLY_RECORDED in page(client, "registries:space-create", docker)


def test_the_kind_field_offers_exactly_the_kinds_of_the_table():
    assert [value for value, _ in Registry._meta.get_field("kind").choices] == list(kinds.KINDS)


def test_each_kind_has_its_client():
    connection = Connection(url="https://registry.example.com")
    with (
        kinds.client_for("harbor", connection) as harbor,
        kinds.client_for("distribution", connection) as docker,
        kinds.client_for("artifactory", connection) as artifactory,
    ):
        assert isinstance(harbor, HarborClient) and isinstance(docker, DistributionClient)
        assert isinstance(artifactory, ArtifactoryClient)


def test_the_table_holds_the_three_kinds_in_the_order_of_their_choices():
    assert list(kinds.KINDS) == ["harbor", "distribution", "artifactory"]
    assert [str(label) for _, label in kinds.choices()] == ["Harbor", "Docker Registry", "JFrog Artifactory"]


def test_what_each_kind_says_about_spaces_and_pulls():
    assert Registry.kinds_supporting("creates_spaces") == ["harbor", "distribution"]
    assert Registry.kinds_supporting("creates_spaces_upstream") == ["harbor"]
    assert Registry.kinds_supporting("owns_visibility_upstream") == ["harbor"]
    assert Registry.kinds_supporting("spaces_start_private") == ["artifactory"]
    assert Registry.kinds_supporting("native_ui") == ["harbor", "artifactory"]
    assert Registry.kinds_supporting("pull_credentials") == ["harbor", "distribution"]


def test_an_unknown_kind_has_no_client_and_can_do_nothing():
    with pytest.raises(Unsupported, match="Unknown registry kind 'nexus'"):
        kinds.client_for("nexus", Connection(url="https://nexus.example.com"))
    unknown = Registry(kind="nexus")
    assert unknown.kind_plugin.pull_credentials is None and not unknown.kind_plugin.scanning
    assert unknown.kind_notices == {}


def test_the_token_service_is_refused_to_a_kind_without_it():
    assert Registry(kind="harbor", token_service=True).token_service_problem()
    assert Registry(kind="distribution", token_service=True).token_service_problem() is None


class ScanningRegistry(Distribution):
    """A kind that speaks the Docker Registry API and scans, as a third kind would plug in."""

    name = "scanning"
    scanning = True


def test_a_kind_added_to_the_table_is_asked_like_the_others(db, monkeypatch):
    monkeypatch.setitem(kinds.KINDS, ScanningRegistry.name, ScanningRegistry())
    assert Registry.kinds_supporting("scanning") == ["harbor", "scanning"]
    assert Registry.kinds_supporting("token_service") == ["distribution", "scanning"]
    with kinds.client_for("scanning", Connection(url="https://scan.example.com")) as client:
        assert isinstance(client, DistributionClient)
    assert Registry(kind="scanning", is_demo=False).kind_plugin.scanning
