"""What a kind can do is said only in registries/kinds/ (issue 13, "Kinds").

Everything else asks the kind (``registry.kind_plugin.scanning``,
``kind__in=Registry.kinds_supporting("robot_accounts")``); a comparison of a registry's kind
with a kind's name outside the kinds' folders is a branch the next kind would have to find.
Tests and migrations may name kinds: they describe data, not behaviour.
"""

import re
from pathlib import Path

from registries.kinds import KINDS

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("portal", "registries", "workspaces", "sso", "access_requests", "templates")
SKIPPED_DIRS = {"tests", "migrations", "__pycache__", "locale", "node_modules"}
KINDS_DIR = ROOT / "registries" / "kinds"

# Lines allowed to name a kind, with why.
ALLOWED = {
    # The check constraint is schema, frozen in a migration: a kind that takes up the token
    # service changes it with a migration of its own.
    (
        "registries/models.py",
        'condition=models.Q(token_service=False) | models.Q(scope="platform", kind="distribution"),',
    ),
}


def _patterns(names):
    quoted = "[\"'](?:" + "|".join(re.escape(name) for name in names) + ")[\"']"
    return [
        # registry.kind == "harbor", "harbor" != kind, {% if registry.kind == "distribution" %}
        re.compile(rf"\bkind\s*(?:==|!=)\s*{quoted}"),
        re.compile(rf"{quoted}\s*(?:==|!=)\s*[\w.]*\bkind\b"),
        # Registry.Kind.HARBOR, self.Kind.DISTRIBUTION (its choices listing is no branch)
        re.compile(r"\bKind\.(?!choices\b|values\b|labels\b|names\b)[A-Z][A-Z0-9_]*\b"),
        # registry.kind in ("harbor", ...), kind not in [...]
        re.compile(r"\bkind\s+(?:not\s+)?in\s*[(\[{]"),
        re.compile(r"\.kind\s+(?:not\s+)?in\b"),
        # filter(kind="harbor"), registry__kind="distribution", kind__in=("harbor",), Q(kind=...)
        re.compile(rf"\bkind(?:__(?:exact|iexact|in))?\s*=\s*(?:{quoted}|[(\[{{])"),
        # {"harbor": HarborClient, ...}: a table of kinds outside the table
        re.compile(rf"{quoted}\s*:\s*[A-Z]\w*"),
    ]


PATTERNS = _patterns(KINDS)


def production_files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".py", ".html") or not path.is_file():
                continue
            if KINDS_DIR in path.parents or not SKIPPED_DIRS.isdisjoint(path.relative_to(ROOT).parts):
                continue
            yield path


def branches(path, text):
    relative = str(path.relative_to(ROOT))
    for number, line in enumerate(text.splitlines(), start=1):
        if (relative, line.strip()) in ALLOWED:
            continue
        if any(pattern.search(line) for pattern in PATTERNS):
            yield f"{relative}:{number}: {line.strip()}"


def test_no_code_outside_the_kinds_branches_on_a_kind():
    found = [branch for path in production_files() for branch in branches(path, path.read_text())]
    assert not found, (
        "ask the kind (registry.kind_plugin, Registry.kinds_supporting) instead of "
        "comparing kinds:\n" + "\n".join(found)
    )


def test_the_scan_reads_python_and_templates():
    # Guards the walk itself: a scan that found no files would pass the test above.
    scanned = {str(path.relative_to(ROOT)) for path in production_files()}
    assert "registries/sync.py" in scanned
    assert "templates/registries/registry_detail.html" in scanned
    assert not any(name.startswith("registries/kinds/") for name in scanned)
    assert not any("/tests/" in name or "/migrations/" in name for name in scanned)


# The branches this test was written against, as they stood before the kinds (issue 13).
BEFORE = [
    "self.wharf_owns_visibility = registry.kind == Registry.Kind.DISTRIBUTION",
    "if registry.kind != Registry.Kind.HARBOR:",
    'return repository.pull_count if repository.space.registry.kind == "harbor" else None',
    "pk=credential_pk, registry_id=pk, registry__kind=Registry.Kind.HARBOR,",
    "return Registry.objects.filter(kind=Registry.Kind.HARBOR, scope=Registry.Scope.PLATFORM,",
    "if self.token_service and self.kind != self.Kind.DISTRIBUTION:",
    '_TOKEN_REGISTRIES = {"kind": Registry.Kind.DISTRIBUTION, "scope": Registry.Scope.PLATFORM}',
    'clients = {"harbor": HarborClient, "distribution": DistributionClient}',
    '{% if registry.kind == "harbor" %}<div><dt>{% translate "Pulls" %}</dt>',
    '{% if registry.kind == "distribution" and not registry.token_service %}<p class="notice">',
    'Registry.objects.filter(kind="distribution", token_service=True)',
    'if registry.kind in ("harbor", "distribution"):',
    'queryset.filter(kind__in=["harbor"])',
]

# Lines that name other kinds of things (token scopes, principals) or only pass a kind along.
NOT_BRANCHES = [
    'pattern = _REPOSITORY if kind == "repository" else _OTHER_NAME',
    'if kind != "anonymous":',
    '"name": registry.name, "kind": registry.kind, "url": registry.url,',
    "if self.instance is not None and kind != self.instance.kind:",
    'kind = models.CharField(_("kind"), max_length=16, choices=kinds.choices())',
    'registry__kind__in=Registry.kinds_supporting("robot_accounts"),',
    "{% if registry.kind_plugin.native_ui %}",
    'values_list("registry__kind", "state")',
    "<td>{{ registry.get_kind_display }}</td>",
]


def test_the_patterns_catch_the_branches_that_were_there():
    missed = [line for line in BEFORE if not any(pattern.search(line) for pattern in PATTERNS)]
    assert not missed


def test_the_patterns_leave_other_kinds_of_kind_alone():
    caught = [line for line in NOT_BRANCHES if any(pattern.search(line) for pattern in PATTERNS)]
    assert not caught


def test_a_new_kind_is_caught_by_its_name():
    patterns = _patterns([*KINDS, "artifactory"])
    assert any(pattern.search('if registry.kind == "artifactory":') for pattern in patterns)
