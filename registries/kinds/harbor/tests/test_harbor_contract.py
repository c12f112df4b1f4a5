"""The Harbor double and the Harbor client, both held to Harbor's own API description.

Every kind of answer the double gives is validated against the response schema that
``reference/harbor/swagger.yaml`` declares for that operation and status, strictly: a property
the definition does not declare is an error too. Every request the client makes is matched to
a declared operation, its query parameters to declared ones (and their limits), its body to the
declared body schema. If either side drifts from Harbor, these tests say where.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from registries.clients.base import RegistryError
from registries.kinds.harbor.client import HarborClient
from registries.kinds.harbor.tests.harbor_double import API, HarborDouble

pytestmark = pytest.mark.integration

SWAGGER_ENV = "WHARF_HARBOR_SWAGGER"
DEFAULT_SWAGGER = (
    Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "harbor" / "swagger.yaml"
)
# Statuses Harbor's middleware and go-swagger's parameter validation give on any operation,
# whether or not the operation lists them. Their body is always Harbor's Errors shape.
MIDDLEWARE_STATUSES = {401, 403, 422, 500}
# Statuses real Harbor gives that its swagger does not list for the operation: creating a robot
# whose name is taken fails in the DAO with a conflict error, which Harbor sends as 409.
UNDOCUMENTED = {("/robots", "POST", 409)}
# Keywords of Swagger 2.0 schemas that are not JSON Schema and would confuse a validator.
SWAGGER_ONLY = {"example", "discriminator", "readOnly", "xml", "externalDocs"}


# -- the spec --------------------------------------------------------------------------------


def swagger_path() -> Path:
    return Path(os.environ.get(SWAGGER_ENV) or DEFAULT_SWAGGER)


@cache
def _load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=loader)  # noqa: S506 (a safe loader)


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    path = swagger_path()
    if not path.is_file():
        message = f"Harbor's swagger.yaml not found at {path} (set {SWAGGER_ENV})"
        if os.environ.get("WHARF_REQUIRE_INTEGRATION") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return _load(path)


def to_json_schema(node: Any, *, strict: bool) -> Any:
    """Swagger 2.0 schema -> JSON Schema (draft 4, which Swagger 2.0 is based on).

    ``x-nullable`` becomes "or null". A bare ``type: object`` (no properties) means any value,
    as in go-swagger, which Harbor's server is generated with: ``ExtraAttrs`` is declared as a
    map of objects but Harbor fills it with strings such as ``"architecture": "amd64"``.
    ``strict`` forbids properties a definition does not declare.
    """
    if isinstance(node, list):
        return [to_json_schema(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in SWAGGER_ONLY:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, strict=strict) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value, strict=strict)
    bare = "properties" not in node and "additionalProperties" not in node
    if node.get("type") == "object" and bare:
        del out["type"]
    if strict and "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if node.get("x-nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _valid_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        return False
    datetime.fromisoformat(value)
    return True


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time", raises=ValueError)(_valid_date_time)


def validate(spec: dict, schema: dict, instance: Any, *, strict: bool = True) -> None:
    definitions = to_json_schema(spec["definitions"], strict=strict)
    root = {**to_json_schema(schema, strict=strict), "definitions": definitions}
    validator = jsonschema.Draft4Validator(root, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:10]
    )


def _deref(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        section, name = node["$ref"].removeprefix("#/").split("/")
        node = spec[section][name]
    return node


def operation(spec: dict, template: str, method: str) -> dict:
    return spec["paths"][template][method.lower()]


def declared_response(spec: dict, template: str, method: str, status: int) -> dict | None:
    response = operation(spec, template, method)["responses"].get(str(status))
    return _deref(spec, response) if response is not None else None


def parameters(spec: dict, template: str, method: str) -> list[dict]:
    return [_deref(spec, p) for p in operation(spec, template, method).get("parameters", [])]


def match_template(spec: dict, raw_path: str, method: str) -> str | None:
    """The operation path a request was for; literal segments beat parameters."""
    path = raw_path.removeprefix(spec["basePath"])
    candidates = []
    for template, item in spec["paths"].items():
        if method.lower() not in item:
            continue
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            candidates.append((template.count("{"), template))
    return min(candidates)[1] if candidates else None


# -- answers of the double -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    template: str
    status: int
    user: str | None = "admin"
    params: dict | None = None
    body: Any = None
    headers: dict | None = None
    setup: Callable[[HarborDouble], Any] | None = None


PASSWORDS = {"admin": "Harbor12345", "dev": "dev-pass-1", "robot$ci": "robot-secret-1"}

ROBOT = {
    "name": "wharf-ws-payments",
    "description": "Pull credential",
    "level": "system",
    "disable": False,
    "duration": -1,
    "permissions": [
        {"kind": "project", "namespace": "team-a", "access": [{"resource": "repository", "action": "pull"}]}
    ],
}
# "{ci}" in a path stands for the id of the robot ``ci`` that populate() adds.
ROBOT_CI = {**ROBOT, "name": "robot$ci", "description": ""}

ARTIFACT = "/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}"
# fmt: off
CASES = [
    Case("ping", "GET", "/ping", "/ping", 200, user=None),
    Case("systeminfo", "GET", "/systeminfo", "/systeminfo", 200),
    Case("systeminfo-anonymous", "GET", "/systeminfo", "/systeminfo", 200, user=None),
    Case("current-user", "GET", "/users/current", "/users/current", 200),
    Case("current-user-anonymous", "GET", "/users/current", "/users/current", 401, user=None),
    Case("current-user-robot", "GET", "/users/current", "/users/current", 412, user="robot$ci"),
    Case("projects-middle-page", "GET", "/projects", "/projects", 200,
         params={"page": 2, "page_size": 2}),
    Case("projects-anonymous", "GET", "/projects", "/projects", 200, user=None),
    Case("projects-page-size-101", "GET", "/projects", "/projects", 422, params={"page_size": 101}),
    Case("project", "GET", "/projects/team-a", "/projects/{project_name_or_id}", 200,
         headers={"X-Is-Resource-Name": "true"}),
    Case("project-by-id", "GET", "/projects/1", "/projects/{project_name_or_id}", 404),
    Case("project-missing", "GET", "/projects/nope", "/projects/{project_name_or_id}", 404),
    Case("project-private-anonymous", "GET", "/projects/team-a",
         "/projects/{project_name_or_id}", 401, user=None),
    Case("project-private-non-member", "GET", "/projects/team-a",
         "/projects/{project_name_or_id}", 403, user="dev"),
    Case("create-project", "POST", "/projects", "/projects", 201,
         body={"project_name": "fresh", "metadata": {"public": "true"}}),
    Case("create-project-exists", "POST", "/projects", "/projects", 409,
         body={"project_name": "team-a", "metadata": {"public": "false"}}),
    Case("create-project-bad-name", "POST", "/projects", "/projects", 400,
         body={"project_name": "Team A"}),
    Case("create-project-boolean-public", "POST", "/projects", "/projects", 422,
         body={"project_name": "fresh", "metadata": {"public": True}}),
    Case("create-project-anonymous", "POST", "/projects", "/projects", 401, user=None,
         body={"project_name": "fresh"}),
    Case("update-project", "PUT", "/projects/team-a", "/projects/{project_name_or_id}", 200,
         body={"metadata": {"public": "true"}}, headers={"X-Is-Resource-Name": "true"}),
    Case("update-project-forbidden", "PUT", "/projects/team-a",
         "/projects/{project_name_or_id}", 403, user="dev", body={"metadata": {}},
         setup=lambda d: setattr(d.projects["team-a"], "public", True)),
    Case("delete-project", "DELETE", "/projects/empty", "/projects/{project_name_or_id}", 200,
         setup=lambda d: d.add_project("empty")),
    Case("delete-project-not-empty", "DELETE", "/projects/team-a",
         "/projects/{project_name_or_id}", 412),
    Case("repositories", "GET", "/projects/team-a/repositories",
         "/projects/{project_name}/repositories", 200, params={"page_size": 1}),
    Case("repositories-missing-project", "GET", "/projects/nope/repositories",
         "/projects/{project_name}/repositories", 404),
    Case("all-repositories", "GET", "/repositories", "/repositories", 200),
    Case("artifacts-nested-name", "GET",
         "/projects/team-a/repositories/tools%252Fbuilder/artifacts",
         "/projects/{project_name}/repositories/{repository_name}/artifacts", 200,
         params={"with_tag": "true"}),
    Case("artifacts-index", "GET", "/projects/team-a/repositories/api/artifacts",
         "/projects/{project_name}/repositories/{repository_name}/artifacts", 200),
    Case("artifacts-without-tags", "GET", "/projects/team-a/repositories/api/artifacts",
         "/projects/{project_name}/repositories/{repository_name}/artifacts", 200,
         params={"with_tag": "false"}),
    Case("artifacts-missing-repository", "GET", "/projects/team-a/repositories/nope/artifacts",
         "/projects/{project_name}/repositories/{repository_name}/artifacts", 404),
    Case("artifact-with-scan-overview", "GET", "/projects/team-a/repositories/api/artifacts/1.0",
         ARTIFACT, 200, params={"with_scan_overview": "true", "with_tag": "false"},
         setup=lambda d: d.set_scan("team-a/api", "1.0", counts={"Critical": 1, "Low": 3}, fixable=2)),
    Case("artifact-never-scanned", "GET", "/projects/team-a/repositories/tools%252Fbuilder/artifacts/v1",
         ARTIFACT, 200, params={"with_scan_overview": "true"}),
    Case("artifact-missing", "GET", "/projects/team-a/repositories/api/artifacts/nope", ARTIFACT, 404),
    Case("scan-artifact", "POST", "/projects/team-a/repositories/api/artifacts/1.0/scan",
         f"{ARTIFACT}/scan", 202, body={}),
    Case("scan-artifact-missing", "POST", "/projects/team-a/repositories/api/artifacts/nope/scan",
         f"{ARTIFACT}/scan", 404, body={}),
    Case("scan-artifact-non-member", "POST", "/projects/team-b/repositories/web/artifacts/latest/scan",
         f"{ARTIFACT}/scan", 403, body={}, user="dev"),
    Case("delete-tag", "DELETE", "/projects/team-a/repositories/api/artifacts/1.0/tags/latest",
         f"{ARTIFACT}/tags/{{tag_name}}", 200),
    Case("delete-tag-missing", "DELETE", "/projects/team-a/repositories/api/artifacts/1.0/tags/nope",
         f"{ARTIFACT}/tags/{{tag_name}}", 404),
    Case("delete-artifact", "DELETE", "/projects/team-a/repositories/api/artifacts/1.0", ARTIFACT, 200),
    Case("delete-artifact-anonymous", "DELETE", "/projects/team-b/repositories/web/artifacts/latest",
         ARTIFACT, 401, user=None),
    Case("delete-repository", "DELETE", "/projects/team-a/repositories/api",
         "/projects/{project_name}/repositories/{repository_name}", 200),
    Case("delete-repository-missing", "DELETE", "/projects/team-a/repositories/nope",
         "/projects/{project_name}/repositories/{repository_name}", 404),
    Case("injected-500", "GET", "/projects", "/projects", 500,
         setup=lambda d: d.fail_on(f"{API}/projects", 500)),
    Case("robots", "GET", "/robots", "/robots", 200),
    Case("robots-query-page", "GET", "/robots", "/robots", 200,
         params={"q": "name=~c", "page": 1, "page_size": 1}),
    Case("robots-non-admin", "GET", "/robots", "/robots", 403, user="dev"),
    Case("create-robot", "POST", "/robots", "/robots", 201, body=ROBOT),
    Case("create-robot-name-taken", "POST", "/robots", "/robots", 409, body={**ROBOT, "name": "ci"}),
    Case("create-robot-without-permissions", "POST", "/robots", "/robots", 400,
         body={**ROBOT, "permissions": []}),
    Case("create-robot-unknown-project", "POST", "/robots", "/robots", 404,
         body={**ROBOT, "permissions": [{**ROBOT["permissions"][0], "namespace": "nope"}]}),
    Case("create-robot-bad-name", "POST", "/robots", "/robots", 400, body={**ROBOT, "name": "Ws A"}),
    Case("create-robot-bad-duration", "POST", "/robots", "/robots", 400, body={**ROBOT, "duration": 0}),
    Case("create-robot-string-duration", "POST", "/robots", "/robots", 422,
         body={**ROBOT, "duration": "-1"}),
    Case("create-robot-anonymous", "POST", "/robots", "/robots", 401, user=None, body=ROBOT),
    Case("create-robot-as-robot", "POST", "/robots", "/robots", 403, user="robot$ci", body=ROBOT),
    Case("robot", "GET", "/robots/{ci}", "/robots/{robot_id}", 200),
    Case("robot-missing", "GET", "/robots/999999", "/robots/{robot_id}", 404),
    Case("robot-as-robot", "GET", "/robots/{ci}", "/robots/{robot_id}", 403, user="robot$ci"),
    Case("update-robot", "PUT", "/robots/{ci}", "/robots/{robot_id}", 200, body=ROBOT_CI),
    Case("update-robot-rename", "PUT", "/robots/{ci}", "/robots/{robot_id}", 400,
         body={**ROBOT_CI, "name": "robot$other"}),
    Case("update-robot-missing", "PUT", "/robots/999999", "/robots/{robot_id}", 404, body=ROBOT_CI),
    Case("refresh-robot-secret", "PATCH", "/robots/{ci}", "/robots/{robot_id}", 200, body={}),
    Case("set-weak-robot-secret", "PATCH", "/robots/{ci}", "/robots/{robot_id}", 400,
         body={"secret": "weak"}),
    Case("delete-robot", "DELETE", "/robots/{ci}", "/robots/{robot_id}", 200),
    Case("delete-robot-missing", "DELETE", "/robots/999999", "/robots/{robot_id}", 404),
]
# fmt: on


def populate(double: HarborDouble) -> None:
    double.add_user("dev", PASSWORDS["dev"])
    double.add_project("team-a")
    double.add_project("team-b", public=True)
    double.add_project("team-c")
    double.add_robot("ci", PASSWORDS["robot$ci"], projects=["team-a"])
    double.add_repository("team-a", "tools/builder", tags=["v1", "v2"], description="Builds")
    double.add_artifact("team-a", "api", ["1.0", "latest"], platforms=["linux/amd64", "linux/arm64/v8"])
    double.add_artifact("team-a", "api", [], platforms=["linux/arm/v7"])
    double.add_repository("team-b", "web", pull_count=7)


@pytest.fixture
def populated(harbor_double: HarborDouble) -> HarborDouble:
    populate(harbor_double)
    return harbor_double


def send(double: HarborDouble, case: Case) -> httpx.Response:
    auth = (case.user, PASSWORDS[case.user]) if case.user else None
    path = case.path
    if "{ci}" in path:
        path = path.replace("{ci}", str(double.robot_named("ci").id))
    with httpx.Client(base_url=double.url, auth=auth, timeout=5) as client:
        return client.request(
            case.method,
            API + path,
            params=case.params,
            json=case.body,
            headers=case.headers,
        )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_double_answers_as_harbor_documents(spec, populated, case: Case) -> None:
    if case.setup is not None:
        case.setup(populated)
    response = send(populated, case)
    assert response.status_code == case.status, response.text

    declared = declared_response(spec, case.template, case.method, case.status)
    if declared is None:
        undocumented = (case.template, case.method, case.status) in UNDOCUMENTED
        assert case.status in MIDDLEWARE_STATUSES or undocumented, f"{case.status} is not documented"
        declared = {"schema": {"$ref": "#/definitions/Errors"}}

    schema = declared.get("schema")
    if schema is None:
        assert response.content == b""
    elif schema.get("type") == "string":
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text == "Pong"
    else:
        assert response.headers["Content-Type"].startswith("application/json")
        validate(spec, schema, response.json())

    documented = declared.get("headers", {})
    for header in ("X-Total-Count", "Location"):
        if header in documented:
            assert header in response.headers, f"{header} missing"
    if "Link" in documented:
        # Like go-swagger, an empty Link is not sent: it appears only when other pages exist.
        other_pages = len(response.json()) < int(response.headers["X-Total-Count"])
        assert ("Link" in response.headers) == other_pages
    assert "sid=" in response.headers.get("Set-Cookie", "")


def test_error_bodies_follow_harbors_error_shape(spec, populated) -> None:
    response = send(populated, Case("x", "GET", "/projects/nope", "", 404))
    validate(spec, {"$ref": "#/definitions/Errors"}, response.json())
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_double_links_the_previous_and_next_page(populated) -> None:
    populated.add_project("team-d")
    response = send(populated, next(c for c in CASES if c.id == "projects-middle-page"))
    assert response.headers["X-Total-Count"] == str(len(populated.projects))
    assert response.headers["Link"] == (
        f'<{API}/projects?page=1&page_size=2>; rel="prev" , <{API}/projects?page=3&page_size=2>; rel="next"'
    )


def test_double_refuses_a_once_encoded_nested_repository(populated) -> None:
    once = "/projects/team-a/repositories/tools%2Fbuilder/artifacts"
    response = send(populated, Case("x", "GET", once, "", 404))
    assert response.status_code == 404


def test_double_reads_digits_as_an_id_without_the_resource_name_header(populated) -> None:
    project = populated.add_project("2024")
    by_id = send(populated, Case("x", "GET", f"/projects/{project.id}", "", 200))
    assert by_id.json()["name"] == "2024"
    by_name = send(populated, Case("x", "GET", "/projects/2024", "", 404))
    assert by_name.status_code == 404
    header = {"X-Is-Resource-Name": "true"}
    named = send(populated, Case("x", "GET", "/projects/2024", "", 200, headers=header))
    assert named.json()["project_id"] == project.id


def test_the_strict_check_catches_undeclared_properties(spec) -> None:
    with pytest.raises(AssertionError, match="Additional properties"):
        validate(spec, {"$ref": "#/definitions/Repository"}, {"name": "a/b", "chart_count": 0})


# -- requests of the client ------------------------------------------------------------------


def exercise_client(double: HarborDouble) -> None:
    with HarborClient(double.connection()) as client:
        client.check(require_admin=True)
        list(client.iter_spaces())
        list(client.iter_repositories())
        list(client.iter_repositories("team-a"))
        list(client.iter_tags("team-a/tools/builder"))
        list(client.iter_tags("team-a/api"))
        client.create_space("created", public=False)
        client.set_space_visibility("created", public=True)
        client.delete_space("created")
        with pytest.raises(RegistryError):
            client.delete_space("team-a")
        robot = client.create_robot("wharf-ws-payments", ["team-a"], "Pull credential")
        client.get_robot(robot.id)
        client.update_robot_projects(robot.id, robot.name, ["team-a", "team-c"], "Pull credential")
        list(client.iter_robots("name=wharf-ws-payments"))
        client.refresh_robot_secret(robot.id)
        client.delete_robot(robot.id)
        digest = double.artifact("team-a/api", "1.0").digest
        client.scan_overview("team-a/api", digest)
        client.scan("team-a/api", digest)
        client.delete_tag("team-a/api", "latest", digest)
        client.delete_artifact("team-a/api", digest)
        client.delete_repository("team-a/tools/builder")
        client.delete_robot(robot.id)
        assert client.get_robot(robot.id) is None


def _check_value(param: dict, value: str) -> None:
    name = param["name"]
    if param.get("type") == "integer":
        assert value.isdigit(), f"{name}={value} is not an integer"
        if "maximum" in param:
            assert int(value) <= param["maximum"], f"{name}={value} above {param['maximum']}"
    if param.get("type") == "boolean":
        assert value in ("true", "false"), f"{name}={value} is not a boolean"


def test_client_sends_only_what_harbor_documents(spec, populated) -> None:
    exercise_client(populated)
    assert populated.requests
    for request in populated.requests:
        template = match_template(spec, request.raw_path, request.method)
        assert template, f"{request.method} {request.raw_path} is no Harbor operation"
        declared = {p["name"]: p for p in parameters(spec, template, request.method)}
        for name, values in request.query.items():
            param = declared.get(name, {})
            assert param.get("in") == "query", f"{name} is not a parameter of {template}"
            for value in values:
                _check_value(param, value)
        for param in declared.values():
            if param["in"] == "path":
                continue
            if param["in"] == "body":
                assert request.body, f"{template} needs a body"
                validate(spec, param["schema"], request.json())
            elif param["in"] == "query" and param.get("required"):
                assert param["name"] in request.query
        assert "cookie" not in request.headers


def test_client_names_projects_where_harbor_would_read_an_id(spec, populated) -> None:
    exercise_client(populated)
    for request in populated.requests:
        template = match_template(spec, request.raw_path, request.method)
        if "{project_name_or_id}" in template:
            declared = {p["name"] for p in parameters(spec, template, request.method)}
            assert "X-Is-Resource-Name" in declared
            assert request.headers.get("x-is-resource-name") == "true", request.raw_path


def test_every_definition_is_a_valid_json_schema(spec) -> None:
    for strict in (False, True):
        root = {"definitions": to_json_schema(spec["definitions"], strict=strict)}
        jsonschema.Draft4Validator.check_schema(root)


# -- robot accounts --------------------------------------------------------------------------


def test_created_robots_are_named_with_harbors_configured_prefix(spec) -> None:
    with HarborDouble(robot_prefix="bot+") as double:
        double.add_project("team-a")
        response = send(double, Case("x", "POST", "/robots", "/robots", 201, body=ROBOT))
        assert response.status_code == 201
        created = response.json()
        validate(spec, {"$ref": "#/definitions/RobotCreated"}, created)
        assert created["name"] == "bot+wharf-ws-payments"
        assert created["secret"] and created["expires_at"] == -1
        assert response.headers["Location"] == f"{API}/robots/{created['id']}"
        listed = send(
            double, Case("x", "GET", "/robots", "/robots", 200, params={"q": "name=wharf-ws-payments"})
        ).json()
        assert [robot["name"] for robot in listed] == ["bot+wharf-ws-payments"]
        assert "secret" not in listed[0]


def test_a_robot_reads_only_the_private_projects_its_permissions_list(populated) -> None:
    robot = ("robot$ci", PASSWORDS["robot$ci"])
    with httpx.Client(base_url=populated.url, auth=robot, timeout=5) as client:
        names = [project["name"] for project in client.get(f"{API}/projects").json()]
        assert sorted(names) == ["library", "team-a", "team-b"]  # team-c is private, not granted
        assert client.get(f"{API}/projects/team-c/repositories").status_code == 403
        assert client.get(f"{API}/projects/team-a/repositories").status_code == 200
    assert populated.can_pull(*robot, "team-a/api", "1.0") == 200
    assert populated.can_pull(*robot, "team-a/api", "nope") == 404
    assert populated.can_pull(*robot, "team-b/web") == 200  # public
    populated.add_repository("team-c", "secret-app")
    assert populated.can_pull(*robot, "team-c/secret-app") == 401
    assert populated.can_pull("", "", "team-a/api", "1.0") == 401
    assert populated.can_pull(robot[0], "wrong", "team-a/api", "1.0") == 401


def test_a_pull_refusal_carries_harbors_challenge(populated) -> None:
    with httpx.Client(base_url=populated.url, timeout=5) as client:
        response = client.get("/v2/team-a/api/manifests/1.0")
    assert response.status_code == 401
    assert response.headers["Www-Authenticate"].startswith('Bearer realm="')
    assert 'scope="repository:team-a/api:pull"' in response.headers["Www-Authenticate"]
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_robot_permission_edits_and_disabling_take_effect_at_once(populated) -> None:
    robot = ("robot$ci", PASSWORDS["robot$ci"])
    robot_id = populated.robot_named("ci").id
    populated.set_robot_permissions(robot_id, ["team-c"])
    populated.add_repository("team-c", "app")
    assert populated.can_pull(*robot, "team-a/api", "1.0") == 401
    assert populated.can_pull(*robot, "team-c/app") == 200
    body = {**ROBOT_CI, "disable": True}
    assert send(populated, Case("x", "PUT", "/robots/{ci}", "", 200, body=body)).status_code == 200
    assert populated.can_pull(*robot, "team-c/app") == 401
