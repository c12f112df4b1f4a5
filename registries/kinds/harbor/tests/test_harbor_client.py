"""The Harbor client against the Harbor double (real HTTP on loopback)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from registries.clients.base import (
    AuthenticationFailed,
    BadAnswer,
    CheckResult,
    Conflict,
    Connection,
    Forbidden,
    NotFound,
    RateLimited,
    RegistryError,
    RegistryTimeout,
    SpaceInfo,
    TLSFailure,
    Unreachable,
)
from registries.kinds.harbor.client import PAGE_SIZE, HarborClient
from registries.kinds.harbor.tests.harbor_double import API, HarborDouble

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Harbor-pässword"


def raised(action: Callable[[], object]) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        action()
    return caught.value


def assert_secret_kept(error: RegistryError, secret: str = PASSWORD) -> None:
    for text in (str(error), error.message, repr(error), *map(str, error.args)):
        assert secret not in text


def client(double: HarborDouble, username: str = "admin", password: str = "", **options):
    password = password or ("Harbor12345" if username == "admin" else PASSWORD)
    return HarborClient(double.connection(username, password, **options))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- check ----------------------------------------------------------------------------------


def test_check_reports_version_admin_flag_and_user(harbor_double) -> None:
    with client(harbor_double) as harbor:
        result = harbor.check(require_admin=True)
    assert result == CheckResult(version=harbor_double.version, is_admin=True, username="admin")


def test_non_admin_account_is_refused_for_platform_integration(harbor_double) -> None:
    harbor_double.add_user("dev", PASSWORD)
    with client(harbor_double, "dev") as harbor:
        error = raised(lambda: harbor.check(require_admin=True))
    assert isinstance(error, Forbidden)
    assert "needs a Harbor system administrator account" in error.message
    assert_secret_kept(error)


def test_non_admin_account_is_enough_when_admin_is_not_required(harbor_double) -> None:
    harbor_double.add_user("dev", PASSWORD)
    with client(harbor_double, "dev") as harbor:
        result = harbor.check()
    assert result.is_admin is False
    assert result.username == "dev"


def test_robot_account_is_refused_for_platform_integration(harbor_double) -> None:
    harbor_double.add_robot("ci", PASSWORD)
    with client(harbor_double, "robot$ci") as harbor:
        assert harbor.check().is_admin is None
        error = raised(lambda: harbor.check(require_admin=True))
    assert isinstance(error, Forbidden)
    assert "robot accounts" in error.message


def test_wrong_password_gives_authentication_failed_without_password_in_message(
    harbor_double,
) -> None:
    with client(harbor_double, "admin", PASSWORD) as harbor:
        error = raised(lambda: harbor.check())
    assert isinstance(error, AuthenticationFailed)
    assert harbor_double.url in error.message
    assert_secret_kept(error)


def test_wrong_password_never_passes_for_an_anonymous_listing(harbor_double) -> None:
    # Harbor serves bad credentials as anonymous, who sees public projects only: a listing
    # that looked complete would make every private project seem deleted.
    harbor_double.add_project("private-one")
    with client(harbor_double, "admin", PASSWORD) as harbor:
        assert isinstance(raised(lambda: list(harbor.iter_spaces())), AuthenticationFailed)
        assert isinstance(raised(lambda: list(harbor.iter_repositories())), AuthenticationFailed)


def test_anonymous_connection_lists_public_projects(harbor_double) -> None:
    harbor_double.add_project("private-one")
    with HarborClient(harbor_double.connection("", "")) as harbor:
        assert harbor.check() == CheckResult(version=harbor_double.version, is_admin=None)
        assert [s.name for s in harbor.iter_spaces()] == ["library"]
        assert isinstance(raised(lambda: harbor.check(require_admin=True)), Forbidden)


def test_html_page_is_not_a_harbor(harbor_double) -> None:
    page = "<!doctype html><html><body>Welcome to nginx!</body></html>"
    harbor_double.fail_on("/", 200, body=page, content_type="text/html")
    with client(harbor_double) as harbor:
        error = raised(harbor.check)
    assert isinstance(error, BadAnswer)
    assert error.message.startswith(f"{harbor_double.url} does not look like a Harbor registry (")
    assert "text/html" in error.message


def test_404_on_ping_is_not_a_harbor(harbor_double) -> None:
    harbor_double.fail_on(f"{API}/ping", 404)
    with client(harbor_double) as harbor:
        error = raised(harbor.check)
    assert isinstance(error, BadAnswer)
    assert "does not look like a Harbor registry" in error.message
    assert "HTTP 404" in error.message


def test_unreachable_host() -> None:
    port = free_port()  # nothing listens there any more
    with HarborClient(Connection(f"http://127.0.0.1:{port}", "admin", PASSWORD)) as harbor:
        error = raised(harbor.check)
    assert type(error) is Unreachable
    assert f"127.0.0.1:{port}" in error.message
    assert_secret_kept(error)


def test_hanging_harbor_times_out(harbor_double) -> None:
    harbor_double.hang_on(f"{API}/ping", seconds=30)
    started = time.monotonic()
    with client(harbor_double, timeout=0.5) as harbor:
        error = raised(harbor.check)
    assert time.monotonic() - started < 5
    assert isinstance(error, RegistryTimeout)
    assert "did not answer within 0.5 seconds" in error.message


def test_https_against_http_server_is_tls_failure(harbor_double) -> None:
    connection = harbor_double.connection("admin", PASSWORD)
    https = replace(connection, url=connection.url.replace("http://", "https://"))
    with HarborClient(https) as harbor:
        error = raised(harbor.check)
    assert isinstance(error, TLSFailure)
    assert_secret_kept(error)


def test_untrusted_certificate_is_tls_failure_that_suggests_a_ca_bundle() -> None:
    with HarborDouble(tls=True) as double:
        with client(double, ca_pem="") as harbor:
            error = raised(harbor.check)
        assert isinstance(error, TLSFailure)
        assert "CA bundle" in error.message
        with client(double) as harbor:  # the double's certificate as the CA bundle
            assert harbor.check().is_admin is True
        with client(double, ca_pem="", verify_tls=False) as harbor:
            assert harbor.check().is_admin is True


def test_unreadable_ca_bundle_is_tls_failure() -> None:
    with HarborDouble(tls=True) as double:
        with client(double, ca_pem="-----BEGIN CERTIFICATE-----\nnope\n") as harbor:
            error = raised(harbor.check)
    assert isinstance(error, TLSFailure)
    assert "CA bundle" in error.message


# -- stateless HTTP --------------------------------------------------------------------------


def test_never_sends_harbor_session_cookie(harbor_double) -> None:
    harbor_double.add_repository("library", "nginx", tags=["1.27"])
    with client(harbor_double) as harbor:
        harbor.check()
        list(harbor.iter_spaces())
        list(harbor.iter_tags("library/nginx"))
        harbor.create_space("made-here", public=True)
        harbor.delete_space("made-here")
    assert len(harbor_double.requests) >= 7
    for request in harbor_double.requests:
        assert "cookie" not in request.headers, request.raw_path


def test_sends_basic_auth_on_every_request(harbor_double) -> None:
    with client(harbor_double) as harbor:
        harbor.check()
        list(harbor.iter_spaces())
    assert all(r.headers["authorization"].startswith("Basic ") for r in harbor_double.requests)


def test_sends_resource_name_header_so_numeric_project_names_work(harbor_double) -> None:
    harbor_double.add_project("1")  # Harbor would read "1" as the id of user admin's project
    harbor_double.add_project("2024")
    with client(harbor_double) as harbor:
        harbor.set_space_visibility("2024", public=True)
        harbor.delete_space("1")
        assert harbor.create_space("42", public=False).name == "42"
    assert harbor_double.projects["2024"].public is True
    assert "1" not in harbor_double.projects
    assert "library" in harbor_double.projects
    named = harbor_double.requests_to(f"{API}/projects/")
    assert named
    assert all(r.headers.get("x-is-resource-name") == "true" for r in named)


# -- listings --------------------------------------------------------------------------------


def test_lists_all_projects_across_pages(harbor_double) -> None:
    for number in range(249):
        harbor_double.add_project(f"project-{number:03d}", public=number % 3 == 0)
    with client(harbor_double) as harbor:
        spaces = list(harbor.iter_spaces())
    assert len(spaces) == 250
    assert len({s.name for s in spaces}) == 250
    pages = harbor_double.requests_to(f"{API}/projects")
    assert [r.param("page") for r in pages] == ["1", "2", "3"]
    project = next(s for s in spaces if s.name == "project-003")
    assert project.public is True
    assert project.upstream_id == str(harbor_double.projects["project-003"].id)
    assert project.repository_count == 0
    assert project.created is not None
    assert project.created.tzinfo is not None


def test_page_size_is_never_above_100(harbor_double) -> None:
    for number in range(120):
        harbor_double.add_repository("library", f"repo-{number}", tags=[])
    harbor_double.add_repository("library", "many-tags", tags=[f"v{n}" for n in range(130)])
    with client(harbor_double) as harbor:
        list(harbor.iter_spaces())
        list(harbor.iter_repositories())
        list(harbor.iter_repositories("library"))
        assert len(list(harbor.iter_tags("library/many-tags"))) == 130
    paged = [r for r in harbor_double.requests if r.param("page_size") is not None]
    assert len(paged) >= 6
    assert all(int(r.param("page_size")) <= PAGE_SIZE for r in paged)


def test_listing_streams_one_page_at_a_time(harbor_double) -> None:
    for number in range(250):
        harbor_double.add_project(f"project-{number:03d}")
    with client(harbor_double) as harbor:
        spaces = harbor.iter_spaces()
        next(spaces)
        assert len(harbor_double.requests_to(f"{API}/projects")) == 1
        spaces.close()


def test_pages_on_total_count_when_a_proxy_strips_link_headers(harbor_double) -> None:
    harbor_double.send_link_headers = False
    for number in range(150):
        harbor_double.add_project(f"project-{number:03d}")
    with client(harbor_double) as harbor:
        assert len(list(harbor.iter_spaces())) == 151
    assert len(harbor_double.requests_to(f"{API}/projects")) == 2


def test_500_on_page_3_raises_bad_answer(harbor_double) -> None:
    for number in range(250):
        harbor_double.add_project(f"project-{number:03d}")
    harbor_double.fail_on(
        f"{API}/projects",
        500,
        after_n=2,
        body={"errors": [{"code": "UNKNOWN", "message": "database is locked"}]},
    )
    received: list[SpaceInfo] = []
    with client(harbor_double) as harbor:
        error = raised(lambda: received.extend(harbor.iter_spaces()))
    assert isinstance(error, BadAnswer)
    assert "HTTP 500" in error.message
    assert "database is locked" in error.message
    assert len(received) == 200


def test_unparseable_json_is_bad_answer(harbor_double) -> None:
    harbor_double.fail_on(f"{API}/projects", 200, body="{not json")
    with client(harbor_double) as harbor:
        error = raised(lambda: list(harbor.iter_spaces()))
    assert isinstance(error, BadAnswer)
    assert "not JSON" in error.message


def test_rate_limit_is_reported(harbor_double) -> None:
    harbor_double.fail_on(f"{API}/repositories", 429, headers={"Retry-After": "30"})
    with client(harbor_double) as harbor:
        error = raised(lambda: list(harbor.iter_repositories()))
    assert isinstance(error, RateLimited)
    assert "retry after 30 seconds" in error.message


def test_lists_repositories_of_one_project_with_full_names(harbor_double) -> None:
    harbor_double.add_project("team-a")
    harbor_double.add_repository("team-a", "api", tags=["1", "2"], description="The API")
    harbor_double.add_repository("team-a", "tools/builder", pull_count=12)
    harbor_double.add_repository("library", "nginx")
    with client(harbor_double) as harbor:
        repositories = list(harbor.iter_repositories("team-a"))
    assert [r.name for r in repositories] == ["team-a/api", "team-a/tools/builder"]
    api, builder = repositories
    assert api.space == "team-a"
    assert api.description == "The API"
    assert api.tag_count == 2
    assert builder.pull_count == 12
    assert builder.created is not None
    assert builder.updated is not None


def test_lists_every_repository_of_the_registry(harbor_double) -> None:
    harbor_double.add_project("team-a")
    harbor_double.add_repository("team-a", "tools/builder")
    harbor_double.add_repository("library", "nginx")
    with client(harbor_double) as harbor:
        repositories = list(harbor.iter_repositories())
    assert {(r.space, r.name) for r in repositories} == {
        ("team-a", "team-a/tools/builder"),
        ("library", "library/nginx"),
    }
    assert harbor_double.requests_to(f"{API}/repositories")


def test_repositories_of_a_missing_project_are_not_found(harbor_double) -> None:
    with client(harbor_double) as harbor:
        error = raised(lambda: list(harbor.iter_repositories("nope")))
    assert isinstance(error, NotFound)


def test_double_encodes_nested_repository_names(harbor_double) -> None:
    harbor_double.add_project("team-a")
    harbor_double.add_repository("team-a", "tools/ci/builder", tags=["v1"])
    with client(harbor_double) as harbor:
        tags = list(harbor.iter_tags("team-a/tools/ci/builder"))
    assert [t.name for t in tags] == ["v1"]
    (request,) = harbor_double.requests_to(f"{API}/projects/team-a/repositories/")
    assert request.raw_path == f"{API}/projects/team-a/repositories/tools%252Fci%252Fbuilder/artifacts"


def test_tags_carry_digest_size_push_time_and_platforms(harbor_double) -> None:
    image = harbor_double.add_artifact("library", "app", ["1.0", "stable"], size=5000)
    index = harbor_double.add_artifact(
        "library", "app", ["multi"], platforms=["linux/amd64", "linux/arm64/v8", "linux/amd64"]
    )
    harbor_double.add_artifact("library", "app", [])  # untagged: not a tag
    with client(harbor_double) as harbor:
        tags = {t.name: t for t in harbor.iter_tags("library/app")}
    assert set(tags) == {"1.0", "stable", "multi"}
    assert tags["1.0"].digest == tags["stable"].digest == image.digest
    assert tags["1.0"].size == 5000
    assert tags["1.0"].platforms == ("linux/amd64",)
    assert tags["1.0"].pushed == image.pushed.astimezone(UTC)
    assert tags["multi"].digest == index.digest
    assert tags["multi"].platforms == ("linux/amd64", "linux/arm64/v8")
    assert isinstance(tags["multi"].pushed, datetime)


def test_tags_of_a_name_without_project_are_not_found(harbor_double) -> None:
    with client(harbor_double) as harbor:
        assert isinstance(raised(lambda: list(harbor.iter_tags("nginx"))), NotFound)
        assert isinstance(raised(lambda: list(harbor.iter_tags("library/nope"))), NotFound)


def test_private_project_of_another_team_is_forbidden(harbor_double) -> None:
    harbor_double.add_user("dev", PASSWORD)
    harbor_double.add_repository("team-x", "secret")
    with client(harbor_double, "dev") as harbor:
        error = raised(lambda: list(harbor.iter_repositories("team-x")))
        assert isinstance(error, Forbidden)
        assert [s.name for s in harbor.iter_spaces()] == ["library"]


# -- space actions ---------------------------------------------------------------------------


def test_create_space_round_trip(harbor_double) -> None:
    with client(harbor_double) as harbor:
        created = harbor.create_space("team-new", public=False)
        listed = {s.name: s for s in harbor.iter_spaces()}
    assert created.name == "team-new"
    assert created.public is False
    assert created.upstream_id == str(harbor_double.projects["team-new"].id)
    assert listed["team-new"] == created
    (post,) = harbor_double.requests_to(f"{API}/projects", method="POST")
    assert post.json() == {"project_name": "team-new", "metadata": {"public": "false"}}


def test_creating_an_existing_project_is_a_conflict(harbor_double) -> None:
    with client(harbor_double) as harbor:
        error = raised(lambda: harbor.create_space("library", public=True))
    assert isinstance(error, Conflict)
    assert "already has a project named 'library'" in error.message


def test_creating_a_project_with_a_bad_name_says_why(harbor_double) -> None:
    with client(harbor_double) as harbor:
        error = raised(lambda: harbor.create_space("Team A", public=True))
    assert isinstance(error, BadAnswer)
    assert "lower case" in error.message


def test_set_space_visibility_round_trip(harbor_double) -> None:
    harbor_double.add_project("team-a")
    with client(harbor_double) as harbor:
        harbor.set_space_visibility("team-a", public=True)
        assert {s.name: s.public for s in harbor.iter_spaces()}["team-a"] is True
        harbor.set_space_visibility("team-a", public=False)
        assert {s.name: s.public for s in harbor.iter_spaces()}["team-a"] is False
    (put, _) = harbor_double.requests_to(f"{API}/projects/team-a", method="PUT")
    assert put.json() == {"metadata": {"public": "true"}}


def test_visibility_of_a_missing_project_is_not_found(harbor_double) -> None:
    with client(harbor_double) as harbor:
        error = raised(lambda: harbor.set_space_visibility("nope", public=True))
    assert isinstance(error, NotFound)
    assert "no project named 'nope'" in error.message


def test_delete_space_round_trip(harbor_double) -> None:
    harbor_double.add_project("team-old")
    with client(harbor_double) as harbor:
        harbor.delete_space("team-old")
        assert "team-old" not in {s.name for s in harbor.iter_spaces()}


def test_deleting_a_non_empty_project_is_a_conflict(harbor_double) -> None:
    harbor_double.add_repository("library", "nginx")
    with client(harbor_double) as harbor:
        error = raised(lambda: harbor.delete_space("library"))
    assert isinstance(error, Conflict)
    assert "still holds repositories" in error.message
    assert "library" in harbor_double.projects


def test_managing_a_project_without_rights_is_forbidden(harbor_double) -> None:
    harbor_double.add_user("dev", PASSWORD)
    with client(harbor_double, "dev") as harbor:
        error = raised(lambda: harbor.set_space_visibility("library", public=False))
    assert isinstance(error, Forbidden)
    assert_secret_kept(error)


# -- messages --------------------------------------------------------------------------------


def test_no_error_message_contains_the_password(harbor_double) -> None:
    harbor_double.add_user("dev", PASSWORD)
    harbor_double.add_project("team-x")
    # Even a Harbor that echoes the password back does not get it shown.
    harbor_double.fail_on(
        f"{API}/repositories", 500, body={"errors": [{"code": "X", "message": f"bad {PASSWORD}"}]}
    )
    errors: list[RegistryError] = []
    with client(harbor_double, "dev") as harbor:
        errors.append(raised(lambda: harbor.check(require_admin=True)))
        errors.append(raised(lambda: list(harbor.iter_repositories())))
        errors.append(raised(lambda: list(harbor.iter_repositories("team-x"))))
        errors.append(raised(lambda: harbor.delete_space("library")))
    with client(harbor_double, "admin", PASSWORD) as harbor:
        errors.append(raised(harbor.check))
    with client(harbor_double, "dev", timeout=0.3) as harbor:
        harbor_double.hang_on(f"{API}/ping", seconds=5)
        errors.append(raised(harbor.check))
    assert len({type(e) for e in errors}) >= 4
    for error in errors:
        assert_secret_kept(error)
