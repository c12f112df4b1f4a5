"""The Audit Log page reads as sentences: actions in words, targets as links, before/after as a
diff, filters by those words; the API keeps the raw action codes."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from portal.audit_sentences import ACTIONS
from registries import services
from registries.models import Registry, RegistrySpace
from workspaces.models import Workspace


@pytest.fixture
def space(db):
    registry = Registry.objects.create(
        name="harbor", kind="harbor", url="https://harbor.example.com", is_demo=True
    )
    return RegistrySpace.objects.create(registry=registry, name="team-a", visibility="private")


def audit_page(client, **filters):
    return client.get(reverse("audit-log"), filters)


def rows(html):
    return re.findall(r'<td class="audit-sentence">(.*?)</td>', html, re.S)


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_a_binding_reads_as_a_sentence_with_links(client, admin, space):
    payments = Workspace.objects.create(name="payments")
    services.change_bindings(space, admin, add=[payments])
    client.force_login(admin)
    page = audit_page(client)
    [sentence] = rows(page.text)
    assert text_of(sentence) == "Bound workspace payments to space harbor/team-a"
    assert f'<a href="{reverse("workspaces:detail", args=[payments.pk])}">payments</a>' in sentence
    spaces_url = reverse("registries:spaces", args=[space.registry_id]) + "?q=team-a"
    assert f'<a href="{spaces_url}">harbor/team-a</a>' in sentence


def test_raw_action_codes_stay_off_the_page_and_in_the_api(client, admin, space):
    services.change_bindings(space, admin, add=[Workspace.objects.create(name="payments")])
    services.set_visibility(space, admin, "public")
    client.force_login(admin)
    page = audit_page(client)
    visible = text_of(re.search(r'<div id="audit-table">(.*)</div>', page.text, re.S).group(1))
    assert "space.bind" not in visible
    assert "space.visibility" not in visible
    assert "Made registry space harbor/team-a public" in visible
    api = client.get("/api/v1/audit-events/")
    assert {event["action"] for event in api.json()["results"]} == {"space.bind", "space.visibility"}


def test_before_and_after_show_as_a_diff(client, admin, space):
    services.set_visibility(space, admin, "public")
    client.force_login(admin)
    page = audit_page(client, action="space.visibility")
    diff = re.search(r'<ul class="audit-diff">(.*?)</ul>', page.text, re.S).group(1)
    assert text_of(diff) == "Type: private → public"
    assert "<del>private</del>" in diff and "<ins>public</ins>" in diff
    assert "{&#x27;visibility&#x27;" not in page.text  # no dict dumped as text


def test_deleted_targets_are_named_but_not_linked(client, admin, space):
    services.delete_space(space, admin)
    client.force_login(admin)
    [sentence] = rows(audit_page(client).text)
    assert text_of(sentence) == "Deleted registry space harbor/team-a"
    assert "<a " not in sentence


def test_filter_by_words_finds_the_bindings_of_a_workspace(client, admin, space):
    payments, search = Workspace.objects.create(name="payments"), Workspace.objects.create(name="search")
    services.change_bindings(space, admin, add=[payments, search])
    services.change_bindings(space, admin, remove=[search])
    client.force_login(admin)
    found = [text_of(row) for row in rows(audit_page(client, words="bound payments").text)]
    assert found == ["Bound workspace payments to space harbor/team-a"]
    unbound = [text_of(row) for row in rows(audit_page(client, words="Unbound").text)]
    assert unbound == ["Unbound workspace search from space harbor/team-a"]
    assert rows(audit_page(client, words="nothing-like-this").text) == []


def test_filter_lists_actions_by_their_words(client, admin, space):
    services.change_bindings(space, admin, add=[Workspace.objects.create(name="payments")])
    client.force_login(admin)
    page = audit_page(client)
    assert '<option value="space.bind">Bound a workspace to a space</option>' in page.text
    only = audit_page(client, action="space.unbind")
    assert rows(only.text) == []
    assert "No event matches these filters." in only.text


def test_page_query_count_does_not_grow_with_events(client, admin, space, django_assert_max_num_queries):
    registry = space.registry
    client.force_login(admin)
    spaces = [RegistrySpace.objects.create(registry=registry, name=f"s-{n}") for n in range(3)]
    workspaces = [Workspace.objects.create(name=f"w-{n}") for n in range(3)]
    services.change_bindings(spaces[0], admin, add=workspaces[:1])
    with django_assert_max_num_queries(12) as few:
        audit_page(client)
    for space in spaces:
        services.change_bindings(space, admin, add=workspaces)
        services.set_visibility(space, admin, "public")
    with django_assert_max_num_queries(12) as many:
        audit_page(client)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_members_cannot_read_the_audit_log(client, ws_admin):
    client.force_login(ws_admin)
    assert audit_page(client).status_code == 403


ACTION_CODE = re.compile(r'"([a-z_]+(?:\.[a-z_]+)+)"')


def recorded_action_codes() -> set[str]:
    """Every action code written by audit.record(...) in the project's code."""
    codes = set()
    for path in Path(settings.BASE_DIR).glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        # audit.record(actor, "code", ...), and helpers that pass their code on: _event(actor, "code", ...)
        for call in re.finditer(r"(?:audit\.record|_event)\((.{0,160})", text, re.S):
            codes.update(ACTION_CODE.findall(call.group(1).split(",", 2)[1] if "," in call.group(1) else ""))
        codes.update(re.findall(r'^ACTION = "([a-z_]+\.[a-z_]+)"', text, re.M))
    return codes


def test_every_recorded_action_has_a_sentence():
    codes = recorded_action_codes()
    assert {"space.bind", "namespace.unbind", "login.lockout", "user.password"} <= codes
    assert codes - set(ACTIONS) == set()
