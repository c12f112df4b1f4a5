"""The Artifactory client against the Artifactory double (real HTTP on loopback).

The double models JFrog's documented behaviours listed in its docstring; each test below names
the one it leans on where that is not obvious.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest

from registries.clients.base import (
    AddressRefused,
    AuthenticationFailed,
    BadAnswer,
    Connection,
    Forbidden,
    NotFound,
    RateLimited,
    RegistryError,
    TagInfo,
    Unreachable,
    Unsupported,
)
from registries.kinds.artifactory.client import ArtifactoryClient, ArtifactorySpaceInfo

from .double import ADMIN_PASSWORD, VERSION, ArtifactoryDouble, running_double

pytestmark = pytest.mark.integration

TOKEN = "eyJ2ZXIiOiIyIiwidHlwIjoiSldUIn0.access-token-for-ci"


def raised(action: Callable[[], object]) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        action()
    return caught.value


def assert_secret_kept(error: RegistryError, secret: str) -> None:
    for text in (str(error), error.message, repr(error), *map(str, error.args)):
        assert secret not in text


def client(
    double: ArtifactoryDouble, username: str = "admin", password: str = ADMIN_PASSWORD, **options
) -> ArtifactoryClient:
    return ArtifactoryClient(double.connection(username, password), **options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def world(artifactory_double: ArtifactoryDouble) -> ArtifactoryDouble:
    """Three Docker repositories of the three classes, a virtual one over the others, and a
    Maven repository that is no space."""
    double = artifactory_double
    double.add_repository("docker-local", "local", description="Our images")
    double.add_repository("dockerhub-remote", "remote", description="Docker Hub, cached")
    double.add_repository("docker", "virtual", members=["docker-local", "dockerhub-remote"])
    double.add_repository("libs-release-local", "local", package_type="maven")
    double.add_image(
        "docker-local",
        "team/app",
        ["1.0", "latest"],
        platforms=["linux/amd64", "linux/arm64/v8"],
        layer_sizes=[100, 250],
    )
    double.add_image("docker-local", "team/worker", ["2.3"], layer_sizes=[4000])
    double.add_image("dockerhub-remote", "library/alpine", ["3.20"], layer_sizes=[3_400_000])
    return double


# -- check ----------------------------------------------------------------------------------


def test_check_with_user_and_password_reports_the_version(world) -> None:
    with client(world) as artifactory:
        result = artifactory.check()
    assert (result.version, result.username, result.is_admin) == (VERSION, "admin", None)
    # The ping goes without credentials; everything after carries them.
    assert "authorization" not in world.requests_to("/artifactory/api/system/ping")[0].headers
    assert (
        world.requests_to("/artifactory/api/system/version")[0].headers["authorization"].startswith("Basic ")
    )


def test_check_with_an_access_token_alone_sends_it_as_bearer(world) -> None:
    world.add_token(TOKEN)
    with client(world, "", TOKEN) as artifactory:
        assert artifactory.check().version == VERSION
    assert world.requests_to("/artifactory/api/repositories")[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_an_access_token_may_stand_in_for_the_password(world) -> None:
    world.add_token(TOKEN)
    with client(world, "admin", TOKEN) as artifactory:
        assert artifactory.check().version == VERSION


def test_check_refuses_a_wrong_password_without_showing_it(world) -> None:
    with client(world, "admin", "not-the-password") as artifactory:
        error = raised(artifactory.check)
    assert isinstance(error, AuthenticationFailed)
    assert "did not accept the user name and password" in error.message
    assert "Bad credentials" in error.message  # Artifactory's own words, from {"errors": [...]}
    assert_secret_kept(error, "not-the-password")


def test_wrong_password_is_refused_even_where_anonymous_may_read() -> None:
    for double in running_double(anonymous=True):
        double.add_repository("docker-local")
        with client(double, "admin", "wrong-password") as artifactory:
            assert isinstance(raised(artifactory.check), AuthenticationFailed)
        with ArtifactoryClient(double.connection("", "")) as anonymous:
            assert [space.name for space in anonymous.iter_spaces()] == ["docker-local"]


def test_check_refuses_a_bad_token(world) -> None:
    world.add_token(TOKEN)
    with client(world, "", TOKEN + "x") as artifactory:
        error = raised(artifactory.check)
    assert isinstance(error, AuthenticationFailed)
    assert "did not accept the access token" in error.message
    assert_secret_kept(error, TOKEN)


def test_check_without_credentials_says_none_are_set(world) -> None:
    with client(world, "", "") as artifactory:
        error = raised(artifactory.check)
    assert isinstance(error, AuthenticationFailed)
    assert "asks for credentials and none are set" in error.message


def test_check_of_nothing_listening_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with ArtifactoryClient(Connection(url=url, username="admin", password=ADMIN_PASSWORD)) as artifactory:
        error = raised(artifactory.check)
    assert isinstance(error, Unreachable)
    assert f"Cannot connect to Artifactory at {url}" in error.message
    assert_secret_kept(error, ADMIN_PASSWORD)


@pytest.mark.parametrize("url", ["ftp://artifactory.example.com", "artifactory.example.com", "http://"])
def test_a_url_that_is_no_http_url_is_refused_before_anything_is_sent(url) -> None:
    with pytest.raises(Unreachable, match="is not an http:// or https:// URL"):
        ArtifactoryClient(Connection(url=url, username="admin", password=ADMIN_PASSWORD))


def test_check_of_something_else_says_it_is_not_artifactory(world) -> None:
    world.fail_on(
        "/artifactory/api/system/ping", 200, body="<html>nginx welcome</html>", content_type="text/html"
    )
    with client(world) as artifactory:
        error = raised(artifactory.check)
    assert isinstance(error, BadAnswer)
    assert "does not look like Artifactory" in error.message


def test_the_artifactory_context_in_the_url_is_accepted(world) -> None:
    connection = Connection(url=world.url + "/artifactory/", username="admin", password=ADMIN_PASSWORD)
    with ArtifactoryClient(connection) as artifactory:
        assert artifactory.check().version == VERSION
    assert all(r.raw_path.startswith("/artifactory/api/") for r in world.requests)


# -- spaces ---------------------------------------------------------------------------------


def test_spaces_are_the_docker_repositories_of_every_class(world) -> None:
    world.add_repository("releases", "federated")
    with client(world) as artifactory:
        spaces = list(artifactory.iter_spaces())
    assert [(s.name, s.repository_class, s.public) for s in spaces] == [
        ("docker", "virtual", False),
        ("docker-local", "local", False),
        ("dockerhub-remote", "remote", False),
        ("releases", "federated", False),
    ]
    assert all(isinstance(space, ArtifactorySpaceInfo) for space in spaces)
    assert spaces[1].description == "Our images"
    # "Get Repositories" filtered to Docker by Artifactory itself.
    assert world.requests_to("/artifactory/api/repositories")[-1].query == {"packageType": ["docker"]}


def test_a_server_that_ignores_the_package_filter_still_yields_docker_repositories_only(world) -> None:
    world.fail_on(
        "/artifactory/api/repositories",
        200,
        body=[
            {"key": "libs-release-local", "type": "LOCAL", "packageType": "Maven"},
            {"key": "docker-local", "type": "LOCAL", "packageType": "Docker"},
        ],
    )
    with client(world) as artifactory:
        assert [space.name for space in artifactory.iter_spaces()] == ["docker-local"]


# -- repositories and tags ------------------------------------------------------------------


def test_repositories_are_named_by_repository_key_and_image(world) -> None:
    with client(world) as artifactory:
        names = sorted((info.space, info.name) for info in artifactory.iter_repositories())
        local = [info.name for info in artifactory.iter_repositories("docker-local")]
    assert names == [
        ("docker", "docker/library/alpine"),
        ("docker", "docker/team/app"),
        ("docker", "docker/team/worker"),
        ("docker-local", "docker-local/team/app"),
        ("docker-local", "docker-local/team/worker"),
        ("dockerhub-remote", "dockerhub-remote/library/alpine"),
    ]
    assert local == ["docker-local/team/app", "docker-local/team/worker"]


def test_tags_carry_digests_sizes_build_time_and_the_platforms_of_a_multi_arch_index(world) -> None:
    app = world.tags("docker-local", "team/app")["latest"]
    with client(world) as artifactory:
        tags = {tag.name: tag for tag in artifactory.iter_tags("docker-local/team/app")}
        worker = list(artifactory.iter_tags("docker-local/team/worker"))
    assert set(tags) == {"1.0", "latest"}
    assert tags["latest"].digest == tags["1.0"].digest == app
    assert tags["latest"].platforms == ("linux/amd64", "linux/arm64/v8")
    # Both platforms' layers and configs: 2 x (100 + 250 + config).
    config_size = len(world.documents[_config_of(world, app, 0)][0])
    config_size_arm = len(world.documents[_config_of(world, app, 1)][0])
    assert tags["latest"].size == 700 + config_size + config_size_arm
    assert tags["latest"].pushed is not None and tags["latest"].pushed.year == 2024
    [single] = worker
    assert isinstance(single, TagInfo) and single.platforms == ("linux/amd64",)
    assert single.size is not None and single.size > 4000


def test_tags_through_a_virtual_repository_are_its_members_images(world) -> None:
    with client(world) as artifactory:
        [alpine] = list(artifactory.iter_tags("docker/library/alpine"))
    assert alpine.name == "3.20"
    assert alpine.digest == world.tags("dockerhub-remote", "library/alpine")["3.20"]


def test_layers_of_each_platform_with_their_build_steps(world) -> None:
    digest = world.tags("docker-local", "team/app")["1.0"]
    with client(world) as artifactory:
        platforms = artifactory.image_layers("docker-local/team/app", digest)
    assert [p.platform for p in platforms] == ["linux/amd64", "linux/arm64/v8"]
    layers = platforms[1].layers
    assert [(layer.size, layer.created_by) for layer in layers] == [
        (100, "RUN build step 1"),
        (250, "RUN build step 2"),  # the empty CMD step is skipped
    ]
    assert all(layer.digest.startswith("sha256:") for layer in layers)


def test_pagination_follows_link_headers_page_by_page(world) -> None:
    for number in range(7):
        world.add_image("docker-local", f"bulk/image-{number}", [f"v{n}" for n in range(5)])
    with client(world, page_size=3) as artifactory:
        names = [info.name for info in artifactory.iter_repositories("docker-local")]
        tags = [tag.name for tag in artifactory.iter_tags("docker-local/bulk/image-0")]
    assert len(names) == 9 and len(set(names)) == 9
    assert tags == ["v0", "v1", "v2", "v3", "v4"]
    catalog_pages = world.requests_to("/artifactory/api/docker/docker-local/v2/_catalog")
    assert [page.query.get("last", [""])[0] for page in catalog_pages] == [
        "",
        "3",
        "6",
    ]  # Artifactory's cursor counts entries; the last page links nowhere
    assert all(page.query["n"] == ["3"] for page in catalog_pages)


def test_a_link_written_as_a_bare_registry_path_stays_in_the_repository(world) -> None:
    world.link_style = "plain"
    for number in range(4):
        world.add_image("docker-local", f"bulk/image-{number}")
    with client(world, page_size=2) as artifactory:
        names = [info.name for info in artifactory.iter_repositories("docker-local")]
    assert len(names) == 6
    assert not world.requests_to("/v2/")


def test_a_link_from_the_last_page_to_an_empty_one_ends_the_listing(world) -> None:
    world.link_on_last_page = True
    with client(world, page_size=2) as artifactory:
        names = [info.name for info in artifactory.iter_repositories("docker-local")]
        tags = [tag.name for tag in artifactory.iter_tags("docker-local/team/app")]
    assert names == ["docker-local/team/app", "docker-local/team/worker"]
    assert tags == ["1.0", "latest"]
    assert len(world.requests_to("/artifactory/api/docker/docker-local/v2/_catalog")) == 2


def test_a_repository_deleted_during_the_listing_is_skipped(world) -> None:
    world.fail_on(
        "/artifactory/api/docker/dockerhub-remote/v2/_catalog",
        404,
        body={"errors": [{"code": "NAME_UNKNOWN", "message": "repository not found"}]},
    )
    with client(world) as artifactory:
        spaces = {info.space for info in artifactory.iter_repositories()}
    assert spaces == {"docker", "docker-local"}


def test_a_missing_image_is_not_found(world) -> None:
    with client(world) as artifactory:
        error = raised(lambda: list(artifactory.iter_tags("docker-local/team/nothing")))
        odd = raised(lambda: list(artifactory.iter_tags("../etc/passwd")))
    assert isinstance(error, NotFound)
    assert isinstance(odd, NotFound)
    assert not world.requests_to("/artifactory/api/docker/..")


# -- odd answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2",
        '{"errors": []}',
        '[{"type": "LOCAL"}]',
        '["docker-local"]',
        '[{"key": "../../admin", "type": "LOCAL", "packageType": "Docker"}]',
    ],
)
def test_a_garbled_repository_list_is_a_bad_answer(world, body) -> None:
    world.fail_on("/artifactory/api/repositories", 200, body=body)
    with client(world) as artifactory:
        error = raised(lambda: list(artifactory.iter_spaces()))
    assert isinstance(error, BadAnswer)


def test_a_huge_answer_is_refused_not_read_whole(world) -> None:
    huge = [
        {"key": f"docker-{n}", "type": "LOCAL", "packageType": "Docker", "description": "x" * 200}
        for n in range(2000)
    ]
    world.fail_on("/artifactory/api/repositories", 200, body=huge)
    with client(world, max_answer_bytes=64 * 1024) as artifactory:
        error = raised(lambda: list(artifactory.iter_spaces()))
    assert isinstance(error, BadAnswer)
    assert "more than 64 KiB" in error.message


def test_a_garbled_tag_list_and_manifest_are_bad_answers(world) -> None:
    world.fail_on("/artifactory/api/docker/docker-local/v2/team/app/tags/list", 200, body="<<<", times=1)
    with client(world) as artifactory:
        assert isinstance(raised(lambda: list(artifactory.iter_tags("docker-local/team/app"))), BadAnswer)
        world.fail_on(
            "/artifactory/api/docker/docker-local/v2/team/app/manifests/",
            200,
            body="{",
            content_type="application/vnd.oci.image.manifest.v1+json",
        )
        assert isinstance(raised(lambda: list(artifactory.iter_tags("docker-local/team/app"))), BadAnswer)


def test_rate_limits_and_server_failures_map_onto_the_shared_errors(world) -> None:
    world.fail_on("/artifactory/api/repositories", 429, headers={"Retry-After": "30"}, times=1)
    with client(world) as artifactory:
        limited = raised(lambda: list(artifactory.iter_spaces()))
        world.fail_on(
            "/artifactory/api/repositories", 503, body="<html>down</html>", content_type="text/html"
        )
        failed = raised(lambda: list(artifactory.iter_spaces()))
    assert isinstance(limited, RateLimited) and "retry after 30 seconds" in limited.message
    assert isinstance(failed, BadAnswer) and "HTTP 503" in failed.message


# -- deletion -------------------------------------------------------------------------------


def test_deleting_a_tag_keeps_the_image_for_its_other_tags(world) -> None:
    digest = world.tags("docker-local", "team/app")["latest"]
    with client(world) as artifactory:
        artifactory.delete_tag("docker-local/team/app", "latest", digest)
        assert [tag.name for tag in artifactory.iter_tags("docker-local/team/app")] == ["1.0"]
    assert world.requests_to("/artifactory/docker-local/team/app/latest", "DELETE")


def test_deleting_an_image_removes_every_tag_on_it(world) -> None:
    digest = world.add_image("docker-local", "team/app", ["stable"], seed="other build")
    with client(world) as artifactory:
        artifactory.delete_artifact("docker-local/team/app", world.tags("docker-local", "team/app")["1.0"])
        remaining = world.tags("docker-local", "team/app")
    assert remaining == {"stable": digest}


def test_deleting_a_repository_and_a_remote_cache(world) -> None:
    with client(world) as artifactory:
        artifactory.delete_repository("docker-local/team/worker")
        artifactory.delete_repository("dockerhub-remote/library/alpine")
        names = {info.name for info in artifactory.iter_repositories()}
    assert "docker-local/team/worker" not in names
    assert world.requests_to("/artifactory/dockerhub-remote-cache/library/alpine", "DELETE")
    assert "dockerhub-remote/library/alpine" not in names


def test_a_virtual_repository_deletes_nothing(world) -> None:
    with client(world) as artifactory:
        error = raised(lambda: artifactory.delete_repository("docker/team/app"))
    assert isinstance(error, Unsupported)
    assert not world.requests_to("/artifactory/docker/", "DELETE")
    assert world.tags("docker-local", "team/app")


def test_deleting_without_the_permission_is_forbidden(world) -> None:
    world.add_user("reader", "reader-password", can_delete=False)
    with client(world, "reader", "reader-password") as artifactory:
        error = raised(lambda: artifactory.delete_repository("docker-local/team/app"))
    with client(world) as artifactory:
        missing = raised(lambda: artifactory.delete_repository("docker-local/team/gone"))
    assert isinstance(error, Forbidden)
    assert isinstance(missing, NotFound)
    assert world.tags("docker-local", "team/app")


def test_spaces_are_neither_created_nor_deleted_upstream(world) -> None:
    with client(world) as artifactory:
        assert isinstance(raised(lambda: artifactory.create_space("new-docker", False)), Unsupported)
        assert isinstance(raised(lambda: artifactory.delete_space("docker-local")), Unsupported)
        artifactory.set_space_visibility("docker-local", True)  # Wharf's own setting only
    assert not [r for r in world.requests if r.method != "GET"]


def test_every_repository_is_read_over_one_connection_pool(world) -> None:
    for number in range(20):
        world.add_repository(f"team-{number}")
        world.add_image(f"team-{number}", "app")
    with client(world) as artifactory:
        artifactory.check()
        names = [info.name for info in artifactory.iter_repositories()]
        for name in names[:5]:
            list(artifactory.iter_tags(name))
    assert len(names) == 26
    assert len(world.peers) == 1  # one kept-alive connection, not one per repository


def test_request_count_includes_the_registry_api(world) -> None:
    with client(world) as artifactory:
        list(artifactory.iter_tags("docker-local/team/worker"))
        count = artifactory.request_count
    assert count == len(world.requests) > 1


# -- helpers --------------------------------------------------------------------------------


def _config_of(double: ArtifactoryDouble, index_digest: str, position: int) -> str:
    index = json.loads(double.documents[index_digest][0])
    child = json.loads(double.documents[index["manifests"][position]["digest"]][0])
    return child["config"]["digest"]


def test_the_registry_api_refusing_the_credentials_reads_as_such(world) -> None:
    world.add_user("ci", "ci-password")
    with client(world, "ci", "ci-password") as artifactory:
        list(artifactory.iter_spaces())
        world.users["ci"].password = "rotated-in-artifactory"
        error = raised(lambda: list(artifactory.iter_tags("docker-local/team/app")))
    assert isinstance(error, AuthenticationFailed)
    assert "did not accept the user name and password" in error.message
    assert "repository docker-local" in error.message
    assert_secret_kept(error, "ci-password")


def test_every_request_goes_through_the_address_policy(world) -> None:
    def internal(host, address):
        return "internal addresses are not allowed" if address.is_loopback else None

    connection = Connection(url=world.url, username="admin", password=ADMIN_PASSWORD, address_policy=internal)
    with ArtifactoryClient(connection) as artifactory:
        rest = raised(artifactory.check)
        registry_api = raised(lambda: list(artifactory.iter_tags("docker-local/team/app")))
    assert isinstance(rest, AddressRefused) and isinstance(registry_api, AddressRefused)
    assert world.requests == []
