"""No GET writes to the database: every GET route of the site, as every persona.

The walk reads the URL resolver, so a route added later is walked too; a route whose path
parameters this file cannot fill makes the walk fail (``PARAMETERS``), so nothing is skipped
silently. Each URL is filled with real ids of a small world's objects, the persona's own and
another workspace's, and asked for as a plain request and as htmx asks for it (fragment,
dialog). A guard on the database connection records every INSERT, UPDATE or DELETE; the only
ones allowed are:

* the audit event of ``GET /api/v1/namespaces/<id>/pull-secret/`` (fetching a secret is
  audited, and that is all that GET may write),
* session bookkeeping: ``django_session``, ``auth_user.last_login``, and an API token's
  ``last_used`` (the API's equivalent of last_login, written at most once a minute),
* failed sign-in bookkeeping: django-axes' ``axes_accessattempt`` rows, which count wrong
  passwords (the token service's Basic auth is a GET) so that guessing is locked out.
"""

import base64
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from access_requests.models import AccessRequest
from conftest import make_user
from portal.api import tokens as api_tokens
from portal.models import AuditEvent
from registries import tokens
from registries.models import PullCredential, Registry, RegistrySpace, Repository, SpaceBinding, SyncRun
from registries.tests import image_world
from registries.tests.image_world import host
from workspaces.models import Membership

PERSONAS = ["anonymous", "admin", "superuser", "ws_admin", "ws_editor", "ws_viewer", "outsider"]

# htmx's requests: a fragment swap, and the modal dialog's body. (hx-boost's requests take the
# plain request's path in every view: portal/htmx.py and the picker render the whole page.)
HTMX_VARIANTS = [
    {"HX-Request": "true", "HX-Current-URL": "http://testserver/"},
    {"HX-Request": "true", "HX-Current-URL": "http://testserver/", "HX-Target": "modal-body"},
]

# Routes not walked, with the reason. Keep it short: each entry is a route nobody checks.
SKIPPED: dict[str, str] = {}


# -- the guard ---------------------------------------------------------------------------------

_WRITE = re.compile(
    r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE|MERGE|TRUNCATE)\s+\"?(\w+)\"?", re.IGNORECASE
)
_ONLY_COLUMN = r"^\s*UPDATE\s+\"?{table}\"?\s+SET\s+\"?{column}\"?\s*=\s*%s\s+WHERE\b"


def _session_bookkeeping(sql: str, table: str) -> bool:
    if table in ("django_session", "axes_accessattempt"):
        return True
    for table_name, column in (("auth_user", "last_login"), ("portal_apitoken", "last_used")):
        if table == table_name and re.match(
            _ONLY_COLUMN.format(table=table_name, column=column), sql, re.IGNORECASE
        ):
            return True
    return False


@dataclass
class WriteGuard:
    """Records the database writes made while ``route`` is being asked for."""

    route: str = ""
    may_audit: bool = False
    writes: list[str] = field(default_factory=list)
    # Every write, allowed or not, as (statement, table).
    seen: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        match = _WRITE.match(sql)
        if match:
            table = match.group(2)
            self.seen.append((match.group(1).split()[0].upper(), table))
            allowed = _session_bookkeeping(sql, table) or (
                self.may_audit
                and table == AuditEvent._meta.db_table
                and match.group(1).upper().startswith("INSERT")
            )
            if not allowed:
                self.writes.append(f"{self.route}: {sql[:160]}")
        return execute(sql, params, many, context)


@contextmanager
def guarded():
    guard = WriteGuard()
    with connection.execute_wrapper(guard):
        yield guard


# -- the world ---------------------------------------------------------------------------------


@pytest.fixture
def world(workspace, other_workspace, admin, ws_admin, ws_editor, ws_viewer, outsider):
    w = image_world.build({"payments": workspace, "search": other_workspace})
    w["users"] = {
        "admin": admin,
        "ws_admin": ws_admin,
        "ws_editor": ws_editor,
        "ws_viewer": ws_viewer,
        "outsider": outsider,
    }
    superuser = make_user("superuser")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    w["users"]["superuser"] = superuser
    # A Docker Registry on Wharf's token service, with a private space bound to payments and no
    # pull credential minted yet: a page that mints one on GET is caught.
    dist = Registry.objects.create(
        name="dist", kind="distribution", url=f"https://{host('dist')}", token_service=True, status="healthy"
    )
    team = RegistrySpace.objects.create(registry=dist, name="team", visibility="private")
    SpaceBinding.objects.create(space=team, workspace=workspace)
    Repository.objects.create(space=team, name="team/app", tag_count=0)
    w["registries"]["dist"] = dist
    tokens.create_signing_key()
    # Another one where search's credential exists, so the token service is asked with a valid one.
    dist2 = Registry.objects.create(
        name="dist2",
        kind="distribution",
        url=f"https://{host('dist2')}",
        token_service=True,
        status="healthy",
    )
    SpaceBinding.objects.create(
        space=RegistrySpace.objects.create(registry=dist2, name="search-team", visibility="private"),
        workspace=other_workspace,
    )
    w["token_credential"] = tokens.mint_workspace_credential(other_workspace, dist2)
    w["registries"]["dist2"] = dist2
    # Harbor robot credentials, one per workspace, for the Retry route and the secret pages.
    plat = w["registries"]["plat"]
    w["credentials"] = {}
    for name, ws in (("payments", workspace), ("search", other_workspace)):
        credential = PullCredential(
            workspace=ws, registry=plat, username=f"robot$wharf-{name}", state="done", upstream_id="7"
        )
        credential.set_secret(f"robot-secret-{name}")
        credential.save()
        w["credentials"][name] = credential
    SyncRun.objects.create(registry=plat, result="ok")
    w["api_keys"] = {}
    w["api_tokens"] = {}
    for persona in ("ws_admin", "outsider"):
        token, key = api_tokens.issue(w["users"][persona], "ci")
        w["api_tokens"][persona], w["api_keys"][persona] = token, key
    w["members"] = {
        "payments": Membership.objects.get(workspace=workspace, user=ws_viewer),
        "search": Membership.objects.get(workspace=other_workspace, user=outsider),
    }
    # An access request of each workspace (one matching a space, one not).
    w["access_requests"] = {
        "payments": AccessRequest.objects.create(
            workspace=workspace, registry=plat, space_name="priv-o", reason="needed", requested_by=ws_editor
        ),
        "search": AccessRequest.objects.create(
            workspace=other_workspace,
            registry=plat,
            space_name="no-such-space",
            reason="needed",
            requested_by=outsider,
        ),
    }
    w["events"] = list(AuditEvent.objects.order_by("pk"))
    return w


def _ids(*objects) -> list:
    return [obj.pk for obj in objects]


def _registries(w, *names):
    return [w["registries"][name] for name in names]


def _space(w, registry, space):
    return (
        w["spaces"][(registry, space)]
        if (registry, space) in w["spaces"]
        else RegistrySpace.objects.get(registry__name=registry, name=space)
    )


def _one(name: str, values: Callable) -> Callable:
    return lambda w: [{name: value} for value in values(w)]


def _workspaces(w):
    return _ids(*w["workspaces"].values())


def _namespaces(w):
    return _ids(*w["namespaces"].values())


def _platform_registries(w):
    # Platform ones, and a workspace's own (which the Admin pages must refuse).
    return _ids(*_registries(w, "plat", "down", "dist", "own"))


def _workspace_registries(w):
    return _ids(*_registries(w, "own", "other", "plat"))


def _repositories(w):
    repos = w["repositories"]
    return _ids(
        repos[("plat", "priv-w")],
        repos[("plat", "priv-o")],
        repos[("plat", "pub")],
        repos[("own", "team")],
        repos[("other", "stuff")],
    )


def _space_pairs(w):
    pairs = [("plat", "priv-w"), ("plat", "priv-o"), ("plat", "pub"), ("own", "team"), ("dist", "team")]
    result = [{"pk": w["registries"][r].pk, "space_pk": _space(w, r, s).pk} for r, s in pairs]
    # A space asked for under another registry's id.
    result.append({"pk": w["registries"]["plat"].pk, "space_pk": _space(w, "other", "stuff").pk})
    return result


def _members(w, workspace_key="pk", member_key="member_pk"):
    payments, search = w["workspaces"]["payments"], w["workspaces"]["search"]
    members = w["members"]
    return [
        {workspace_key: payments.pk, member_key: members["payments"].pk},
        {workspace_key: search.pk, member_key: members["search"].pk},
        {workspace_key: payments.pk, member_key: members["search"].pk},
    ]


def _workspace_registry_pairs(w):
    payments, search = w["workspaces"]["payments"], w["workspaces"]["search"]
    own, other = w["registries"]["own"], w["registries"]["other"]
    return [
        {"workspace_pk": payments.pk, "pk": own.pk},
        {"workspace_pk": search.pk, "pk": other.pk},
        {"workspace_pk": payments.pk, "pk": other.pk},
    ]


def _repository_tags(w):
    return [{"pk": pk, "tag": "1.0"} for pk in _repositories(w)]


def _repository_digests(w):
    pairs = [
        {"pk": pk, "digest": Repository.objects.get(pk=pk).tags.order_by("name").first().digest}
        for pk in _repositories(w)
    ]
    # A digest asked for under another repository's id.
    pairs.append({"pk": pairs[0]["pk"], "digest": pairs[-1]["digest"]})
    return pairs


def _namespace_repositories(w):
    return [
        {"namespace_pk": ns, "repository_pk": repo} for ns in _namespaces(w) for repo in _repositories(w)[:3]
    ]


# Path parameters of every route that has some: route name -> the kwargs to try.
PARAMETERS: dict[str, Callable] = {
    "token-revoke": _one("pk", lambda w: _ids(*w["api_tokens"].values())),
    "api:namespace-images": _one("namespace_pk", _namespaces),
    "api:namespace-image-tags": _namespace_repositories,
    "api:namespace-explain": _one("namespace_pk", _namespaces),
    "api:namespace-manifests": _one("namespace_pk", _namespaces),
    "api:registry-spaces": _one("registry_pk", _platform_registries),
    "api:repository-detail": _one("pk", _repositories),
    "api:repository-tags": _one("pk", _repositories),
    "api:repository-tag": _repository_tags,
    "api:artifact-detail": _repository_digests,
    "api:artifact-layers": _repository_digests,
    "api:artifact-scan": _repository_digests,
    "api:registry-detail": _one("pk", _platform_registries),
    "api:registry-sync": _one("pk", _platform_registries),
    "api:registry-login-command": _one("registry_pk", lambda w: _ids(*w["registries"].values())),
    "api:space-detail": _one("pk", lambda w: _ids(*w["spaces"].values())),
    "api:space-bind": _one("pk", lambda w: _ids(w["spaces"][("plat", "priv-w")])),
    "api:space-unbind": _one("pk", lambda w: _ids(w["spaces"][("plat", "priv-w")])),
    "api:workspace-detail": _one("pk", _workspaces),
    "api:workspace-member-list": _one("workspace_pk", _workspaces),
    "api:workspace-member-detail": lambda w: _members(w, "workspace_pk", "pk"),
    "api:workspace-registry-list": _one("workspace_pk", _workspaces),
    "api:workspace-pull-credential-list": _one("workspace_pk", _workspaces),
    "api:workspace-pull-credential-rotate": _one("workspace_pk", _workspaces),
    "api:workspace-registry-detail": _workspace_registry_pairs,
    "api:workspace-registry-sync": _workspace_registry_pairs,
    "api:cluster-detail": _one("pk", lambda w: [w["namespaces"]["ns-w"].cluster_id]),
    "api:namespace-detail": _one("pk", _namespaces),
    "api:audit-event-detail": _one("pk", lambda w: _ids(w["events"][0], w["events"][-1])),
    "api:namespace-pull-secret": _one("pk", _namespaces),
    "registries:workspace-detail": _one("pk", _workspace_registries),
    "registries:workspace-edit": _one("pk", _workspace_registries),
    "registries:workspace-sync": _one("pk", _workspace_registries),
    "registries:workspace-remove": _one("pk", _workspace_registries),
    "registries:detail": _one("pk", _platform_registries),
    "registries:edit": _one("pk", _platform_registries),
    "registries:remove": _one("pk", _platform_registries),
    "registries:sync": _one("pk", _platform_registries),
    "registries:spaces": _one("pk", _platform_registries),
    "registries:space-create": _one("pk", _platform_registries),
    "registries:space-row": _space_pairs,
    "registries:space-bindings": _space_pairs,
    "registries:space-visibility": _space_pairs,
    "registries:space-delete": _space_pairs,
    "registries:repository": _one("pk", _repositories),
    "registries:picker-tags": _one("pk", _repositories),
    "registries:login-command": _one("pk", lambda w: _ids(*w["registries"].values())),
    "registries:login-command-revoke": _one("pk", lambda w: _ids(*w["registries"].values())),
    "registries:repository-delete": _one("pk", _repositories),
    "registries:tag-delete": _repository_tags,
    "registries:artifact-layers": _repository_digests,
    "registries:artifact-scan": _repository_digests,
    "registries:artifact-delete": _repository_digests,
    "registries:credential-retry": lambda w: [
        {"pk": c.registry_id, "credential_pk": c.pk} for c in w["credentials"].values()
    ],
    "workspaces:detail": _one("pk", _workspaces),
    "workspaces:edit": _one("pk", _workspaces),
    "workspaces:delete": _one("pk", _workspaces),
    "workspaces:pull-credentials-rotate": _one("pk", _workspaces),
    "workspaces:member-add": _one("pk", _workspaces),
    "workspaces:member-change": _members,
    "workspaces:member-remove": _members,
    "workspaces:namespace-detail": _one("pk", _namespaces),
    "workspaces:namespace-bind": _one("pk", _namespaces),
    "workspaces:namespace-pull-secret": _one("pk", _namespaces),
    "access_requests:detail": _one("pk", lambda w: _ids(*w["access_requests"].values())),
    "access_requests:approve": _one("pk", lambda w: _ids(*w["access_requests"].values())),
    "access_requests:decline": _one("pk", lambda w: _ids(*w["access_requests"].values())),
    "api:access-request-detail": _one("pk", lambda w: _ids(*w["access_requests"].values())),
    "api:access-request-approve": _one("pk", lambda w: _ids(*w["access_requests"].values())),
    "api:access-request-decline": _one("pk", lambda w: _ids(*w["access_requests"].values())),
}


def _service(w, registry):
    """The token service knows a registry by its generated id, not its name."""
    return w["registries"][registry].token_service_id


def _image(w, registry, space):
    return f"{host(registry)}/{space}/app:1.0"


def _per_namespace(make: Callable) -> Callable:
    return lambda w: [make(w, ns) for ns in w["namespaces"].values()]


def _basic(username, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# Query strings (and headers) that change what a GET route does; every route is also asked
# for without any.
QUERIES: dict[str, Callable] = {
    "login": lambda w: [{"next": "/registries/"}],
    "audit-log": lambda w: [{"action": "api_token.create"}, {"actor": "ws-admin", "target": "ci"}],
    "registries:images": lambda w: [{"workspace": ws.pk, "q": "app"} for ws in w["workspaces"].values()],
    "registries:repository": lambda w: [{"workspace": ws.pk} for ws in w["workspaces"].values()],
    "registries:picker": lambda w: [
        {"namespace": ns.pk, "tab": tab, "q": "app"}
        for ns in w["namespaces"].values()
        for tab in ("public", "private")
    ],
    "registries:picker-tags": _per_namespace(lambda w, ns: {"namespace": ns.pk, "tab": "private"}),
    "registries:explain": lambda w: [
        {"namespace": ns.pk, "image": _image(w, registry, space)}
        for ns in w["namespaces"].values()
        for registry, space in (("plat", "priv-w"), ("plat", "priv-o"), ("plat", "nowhere"))
    ],
    "registries:space-bindings": lambda w: [{"results": "1", "q": "pay"}],
    "registries:platform-list": lambda w: [{"q": "plat"}],
    "registries:token": lambda w: [
        {"query": {"service": _service(w, "dist"), "scope": "repository:team/app:pull"}},
        {
            "query": {"service": _service(w, "dist"), "scope": "repository:team/app:pull,push"},
            "headers": _basic("ws-admin", "correct-horse-battery"),
        },
        {
            "query": {"service": _service(w, "dist"), "scope": "repository:team/app:pull"},
            "headers": _basic("ws-payments", "not-the-secret"),
        },
        {
            "query": {"service": _service(w, "dist2"), "scope": "repository:search-team/app:pull"},
            "headers": _basic(*w["token_credential"]),
        },
    ],
    "workspaces:namespace-list": lambda w: [{"bound": "true"}, {"bound": "false", "q": "ns"}],
    "registries:create-by-image": _per_namespace(
        lambda w, ns: {"namespace": ns.pk, "image": _image(w, "plat", "priv-w")}
    ),
    "registries:create-by-image-download": _per_namespace(
        lambda w, ns: {"namespace": ns.pk, "image": _image(w, "plat", "priv-w")}
    ),
    "api:namespace-images": lambda w: [{"tab": "private", "q": "app"}, {"tab": "public"}],
    "api:namespace-explain": lambda w: [
        {"image": _image(w, "plat", space)} for space in ("priv-w", "priv-o", "nowhere")
    ],
    "api:audit-event-list": lambda w: [{"action": "api_token.create"}],
    "api:registry-spaces": lambda w: [{"q": "priv"}],
}


# -- the walk ----------------------------------------------------------------------------------


@dataclass
class Route:
    name: str  # namespaced name, or the path pattern for unnamed routes
    pattern: str  # the full path pattern
    parts: list  # the patterns from the root, to substitute parameters into
    params: list[str]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    @property
    def is_admin(self) -> bool:
        return self.pattern.startswith("admin/")


def _params(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    return list(pattern.regex.groupindex)


def routes() -> list[Route]:
    found = []

    def walk(patterns, namespaces, parts):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(
                    entry.url_patterns,
                    namespaces + ([entry.namespace] if entry.namespace else []),
                    parts + [entry.pattern],
                )
            elif isinstance(entry, URLPattern):
                chain = parts + [entry.pattern]
                text = "".join(str(p) for p in chain)
                name = ":".join(namespaces + [entry.name]) if entry.name else text
                found.append(Route(name, text, chain, [p for part in chain for p in _params(part)]))

    walk(get_resolver().url_patterns, [], [])
    return found


_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()]|\([^()]*\))*\)")


def build_path(route: Route, kwargs: dict) -> str:
    """The route's path with ``kwargs`` put in (reverse() cannot build unnamed routes)."""
    path = ""
    for part in route.parts:
        if isinstance(part, RoutePattern):
            path += _ROUTE_PARAMETER.sub(lambda m: str(kwargs[m.group("name")]), str(part))
        else:
            regex = str(part).lstrip("^").rstrip("$")
            path += _REGEX_GROUP.sub(lambda m: str(kwargs[m.group("name")]), regex)
    return "/" + path


def _admin_parameters(route: Route, w) -> list[dict] | None:
    """Admin routes are generated per registered model: fill them from the model's rows."""
    if not route.is_admin:
        return None
    params = set(route.params)
    if params == {"app_label"}:
        labels = re.search(r"\(\?P<app_label>([^)]*)\)", route.pattern).group(1)
        return [{"app_label": label} for label in labels.split("|")]
    if params == {"url"}:  # the catch-all that redirects unknown admin URLs
        return [{"url": "nowhere/"}]
    if params == {"content_type_id", "object_id"}:
        namespace = w["namespaces"]["ns-w"]
        return [
            {"content_type_id": ContentType.objects.get_for_model(namespace).pk, "object_id": namespace.pk}
        ]
    match = re.match(r"admin/(\w+)/(\w+)/", route.pattern)
    if match and len(params) == 1 and params <= {"object_id", "id"}:
        model = apps.get_model(match.group(1), match.group(2))
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
        chosen = sorted({pks[0], pks[-1]}) if pks else [987654]
        (key,) = params
        return [{key: pk} for pk in chosen]
    return None


def fill(route: Route, w) -> list[dict] | None:
    """Every kwargs to try for ``route``; None when this file does not know how."""
    if not route.params:
        return [{}]
    if route.name in PARAMETERS:
        return PARAMETERS[route.name](w)
    return _admin_parameters(route, w)


@dataclass
class Request:
    route: Route
    path: str
    query: dict
    headers: dict

    def __str__(self):
        header = ",".join(f"{k}={v}" for k, v in self.headers.items() if k != "Authorization")
        return f"{self.route.name} GET {self.path} {self.query or ''} {header}".strip()


def requests_for(route: Route, w) -> list[Request]:
    variants = [{}]
    if route.name in QUERIES:
        for variant in QUERIES[route.name](w):
            variants.append(variant if "query" in variant or "headers" in variant else {"query": variant})
    header_sets = [{}] if route.is_api or route.is_admin else [{}, *HTMX_VARIANTS]
    result = []
    filled = fill(route, w)
    assert filled is not None, f"{route.name}: add it to PARAMETERS (or SKIPPED, with a reason)"
    for kwargs in filled:
        path = build_path(route, kwargs)
        match = resolve(path)
        assert match.route == route.pattern or match.url_name == route.name.rpartition(":")[2], (
            f"{route.name}: {path} resolves to {match.route}"
        )
        for variant in variants:
            for headers in header_sets:
                result.append(
                    Request(
                        route, path, dict(variant.get("query", {})), {**variant.get("headers", {}), **headers}
                    )
                )
    return result


def test_every_route_with_parameters_can_be_filled(world):
    """A new route must be added to PARAMETERS (or SKIPPED, with a reason) to be walked."""
    unfilled = [route.name for route in routes() if route.name not in SKIPPED and fill(route, world) is None]
    assert not unfilled, f"Add these routes to PARAMETERS in {__file__}: {unfilled}"
    stale = [name for name in [*PARAMETERS, *QUERIES, *SKIPPED] if name not in {r.name for r in routes()}]
    assert not stale, f"These routes no longer exist: {stale}"


def _client_for(persona: str, w) -> Client:
    client = Client(raise_request_exception=False)
    if persona != "anonymous":
        client.force_login(w["users"][persona])
    return client


def walk(persona: str, w, *, api_token: str | None = None) -> tuple[list[str], dict[str, int]]:
    client = _client_for("anonymous" if api_token else persona, w)
    auth = {"Authorization": f"Token {api_token}"} if api_token else {}
    failures, statuses = [], {}
    for route in routes():
        if route.name in SKIPPED or (api_token and not route.is_api):
            continue
        for request in requests_for(route, w):
            headers = {**auth, **request.headers}
            with guarded() as guard:
                guard.route = f"{persona} {request}"
                guard.may_audit = route.name == "api:namespace-pull-secret"
                response = client.get(request.path, request.query, headers=headers)
            failures.extend(guard.writes)
            if response.status_code >= 500:
                failures.append(f"{persona} {request}: answered {response.status_code}")
            statuses[f"{request}"] = response.status_code
    return failures, statuses


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_get_writes_to_the_database(world, persona):
    credentials_before = list(PullCredential.objects.values_list("pk", "secret_hash", "state", "updated"))
    failures, statuses = walk(persona, world)
    assert not failures, "\n".join(failures)
    # Nothing was minted, rotated or marked, whatever the pages showed.
    assert (
        list(PullCredential.objects.values_list("pk", "secret_hash", "state", "updated"))
        == credentials_before
    )
    # The walk reached the pages it is about (a walk answered only with redirects proves nothing).
    ns_w = world["namespaces"]["ns-w"].pk
    reached = {
        "admin": f"workspaces:namespace-detail GET /namespaces/{ns_w}/",
        "ws_editor": f"workspaces:namespace-detail GET /namespaces/{ns_w}/",
        "superuser": "admin:registries_registry_changelist GET /admin/registries/registry/",
        "ws_viewer": f"api:namespace-images GET /api/v1/namespaces/{ns_w}/images/",
    }
    if persona in reached:
        assert statuses[reached[persona]] == 200
    # The token service was asked with a valid workspace credential, and answered.
    token_answers = [
        status
        for request, status in statuses.items()
        if "'service': 'wharf-" in request and "search-team" in request
    ]
    assert token_answers and set(token_answers) == {200}


def test_no_get_writes_with_an_api_token(world):
    failures, statuses = walk("ws_admin", world, api_token=world["api_keys"]["ws_admin"])
    assert not failures, "\n".join(failures)
    assert statuses[f"api:namespace-detail GET /api/v1/namespaces/{world['namespaces']['ns-w'].pk}/"] == 200


def test_the_api_get_of_a_pull_secret_writes_its_audit_event_and_nothing_else(client, world, ws_editor):
    namespace = world["namespaces"]["ns-w"]
    client.force_login(ws_editor)
    with guarded() as guard:
        guard.route = "pull secret"
        response = client.get(f"/api/v1/namespaces/{namespace.pk}/pull-secret/")
    assert response.status_code == 200
    assert [write for write in guard.seen if write[1] != "django_session"] == [
        ("INSERT", "portal_auditevent")
    ]
    assert AuditEvent.objects.filter(action="namespace.pull_secret", target_id=str(namespace.pk)).count() == 1


def test_the_guard_catches_a_write(client, world, ws_editor):
    """The walk's guard is not blind: the page's POST download writes, and the guard sees it."""
    namespace = world["namespaces"]["ns-w"]
    client.force_login(ws_editor)
    with guarded() as guard:
        guard.route = "download"
        response = client.post(f"/namespaces/{namespace.pk}/pull-secret.yaml")
    assert response.status_code == 200
    assert any("portal_auditevent" in write for write in guard.writes)
