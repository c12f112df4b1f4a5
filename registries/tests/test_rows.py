"""The rows of the long tables (registries/rows.py, Jinja2 templates): what a reader sees,
escaped and translated."""

import datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from registries import rows
from registries.models import PullCredential, Registry, RegistrySpace, Repository, SpaceBinding, Tag
from workspaces.models import Namespace, Workspace

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9,en;q=0.5"}
NOW = datetime.datetime(2026, 11, 30, 9, 15, tzinfo=datetime.UTC)
# A value that would run a script, close an attribute or start an entity if it were not escaped.
HOSTILE = """<script>alert("x")</script> <b>bold</b> & 'quoted' &amp;"""


class Reading(HTMLParser):
    """What a browser makes of a page: its elements, texts and attribute values (entities read)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: set[str] = set()
        self.inline_scripts = 0  # the layout's scripts are files (src=)
        self.texts: list[str] = []
        self.attributes: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.add(tag)
        self.inline_scripts += tag == "script" and "src" not in dict(attrs)
        self.attributes += [value for _, value in attrs if value is not None]

    def handle_data(self, data):
        self.texts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())


def read(html: str) -> Reading:
    reading = Reading(html)
    # Only the rows' own markup: nothing a value brought in.
    assert reading.inline_scripts == 0 and "b" not in reading.elements
    return reading


@pytest.fixture
def harbor(db):
    # Never contacted: the pages read what the last sync stored.
    return Registry.objects.create(
        name="harbor-rows", kind="harbor", username="admin", url="http://127.0.0.1:9/harbor", last_sync=NOW
    )


@pytest.fixture
def bound_space(harbor, workspace):
    space = RegistrySpace.objects.create(
        registry=harbor, name="payments", visibility="private", upstream_id="1", upstream_created=NOW
    )
    SpaceBinding.objects.create(space=space, workspace=workspace)
    PullCredential.objects.create(
        registry=harbor,
        workspace=workspace,
        username="robot$wharf-1",
        state="failed",
        attempts=2,
        error='<b>Harbor</b> said "no"',
    )
    return space


def test_a_robots_failure_reason_is_shown_escaped_with_retry(client, admin, harbor, bound_space, workspace):
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor.pk])).text
    assert "&lt;b&gt;Harbor&lt;/b&gt; said &#34;no&#34; (2 attempts)" in page
    assert "<b>Harbor</b>" not in page
    credential = PullCredential.objects.get(workspace=workspace)
    assert reverse("registries:credential-retry", args=[harbor.pk, credential.pk]) in page
    assert f'aria-label="Retry {workspace.name}"' in page


def test_a_chinese_reader_gets_the_rows_in_chinese(client, admin, harbor, bound_space):
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor.pk]), **ZH).text
    assert "设为公开" in page and "绑定/解绑工作空间" in page and "payments 的操作" in page
    row = client.get(reverse("registries:space-row", args=[harbor.pk, bound_space.pk]), **ZH).text
    assert "设为公开" in row and f'id="space-{bound_space.pk}"' in row


def test_tag_rows_show_the_short_digest_as_the_filter_did_in_each_language(
    client, ws_editor, harbor, bound_space
):
    repository = Repository.objects.create(space=bound_space, name="payments/api", tag_count=1, last_push=NOW)
    Tag.objects.create(
        repository=repository,
        name="v1<2",
        digest="sha256:" + "ab" * 32,
        size=2_500_000,
        pushed=NOW,
        platforms=["linux/amd64", "linux/arm64"],
    )
    client.force_login(ws_editor)
    url = reverse("registries:repository", args=[repository.pk])
    page = client.get(url).text
    assert "sha256:abababababa…" in page  # 19 characters with the ellipsis
    assert "2.4\xa0MB" in page and "2026-11-30 09:15" in page and "linux/amd64, linux/arm64" in page
    assert "v1&lt;2" in page and "Delete image" in page
    chinese = client.get(url, **ZH).text
    assert "sha256:ababababa..." in chinese and "复制 v1&lt;2 的拉取命令" in chinese


def test_every_value_of_a_space_row_is_escaped_on_the_page(client, admin, harbor, workspace):
    space = RegistrySpace.objects.create(
        registry=harbor, name=f"space {HOSTILE}", visibility="private", upstream_id="9", upstream_created=NOW
    )
    SpaceBinding.objects.create(space=space, workspace=workspace)
    PullCredential.objects.create(
        registry=harbor,
        workspace=workspace,
        username="robot$wharf-9",
        state="failed",
        attempts=3,
        error=f"reason {HOSTILE}",
    )
    client.force_login(admin)
    for url in (
        reverse("registries:spaces", args=[harbor.pk]),
        reverse("registries:space-row", args=[harbor.pk, space.pk]),
    ):
        page = read(client.get(url).text)
        assert f"space {HOSTILE}" in page.text
        assert f"{workspace.name}: reason {HOSTILE} (3 attempts)" in page.text
        assert f"Actions for space {HOSTILE}" in page.attributes


def test_workspace_names_are_escaped_in_the_hover_list_and_the_robots_status(db):
    # Workspace names are DNS labels in the database; the rows escape them all the same.
    bound = [Workspace(pk=n + 1, name=f"team{n:02d} {HOSTILE}") for n in range(12)]
    for n, workspace in enumerate(bound):
        workspace.binding_ends = NOW if n % 2 else None
    space = RegistrySpace(
        pk=7, name=f"space {HOSTILE}", visibility="private", repository_count=0, upstream_created=NOW
    )
    space.urls = {name: f"/{name}/?q={HOSTILE}" for name in ("row", "bindings", "visibility", "delete")}
    space.bound = bound
    failed = PullCredential(pk=3, attempts=2, error=f"reason {HOSTILE}")
    space.propagation = {
        "all_done": False,
        "done": [{"workspace": bound[0], "credential": None}],
        "pending": [{"workspace": bound[1], "credential": None}],
        "failed": [{"workspace": bound[2], "credential": failed}],
    }
    html = rows.space_rows(
        [space],
        '<input type="hidden" name="csrfmiddlewaretoken" value="t">',
        lambda pk: f"/retry/{pk}/?q={HOSTILE}",
    )
    page = read(html)
    assert f"team00 {HOSTILE} +11" in page.text  # the hover list's label
    assert f"team09 {HOSTILE} · ends 2026-11-30 09:15" in page.text and "and 2 more" in page.text
    assert "team10" not in page.text  # ten names, then "and 2 more"
    assert f"in Harbor team00 {HOSTILE}" in page.text and f"pending team01 {HOSTILE}" in page.text
    assert f"team02 {HOSTILE}: reason {HOSTILE} (2 attempts)" in page.text
    assert f"Retry team02 {HOSTILE}" in page.attributes
    assert f"See all 12 workspaces bound to space {HOSTILE}" in page.attributes
    assert f"/bindings/?q={HOSTILE}" in page.attributes and f"/retry/3/?q={HOSTILE}" in page.attributes
    assert page.elements >= {"tr", "td", "ul", "li", "form", "input", "button", "details", "summary"}


@pytest.fixture
def hostile_repository(harbor):
    space = RegistrySpace.objects.create(
        registry=harbor,
        name="open",
        visibility="public",
        upstream_id="5",
        upstream_created=NOW,
        repository_count=1,
    )
    repository = Repository.objects.create(space=space, name="open/api", tag_count=2, last_push=NOW)
    Tag.objects.create(
        repository=repository,
        name=f"tag {HOSTILE}",
        digest=f"sha256:{HOSTILE}",
        size=2_500_000,
        pushed=NOW,
        platforms=[f"linux/{HOSTILE}", "linux/arm64"],
    )
    return repository


def test_every_value_of_a_tag_row_is_escaped_on_the_repository_page(client, admin, hostile_repository):
    client.force_login(admin)
    page = read(client.get(reverse("registries:repository", args=[hostile_repository.pk])).text)
    assert f"tag {HOSTILE}" in page.text
    assert f"sha256:{HOSTILE}" in page.attributes  # the digest's title, and its first 19 characters:
    assert f"sha256:{HOSTILE}"[:18] + "…" in page.text
    assert f"linux/{HOSTILE}, linux/arm64" in page.text
    assert f"Copy the pull command for tag {HOSTILE}" in page.attributes
    assert f"docker pull 127.0.0.1:9/harbor/open/api:tag {HOSTILE}" in page.text


def test_the_picker_shows_the_same_tag_cells_escaped_with_its_choose_button(
    client, admin, harbor, hostile_repository
):
    from workspaces.models import Cluster

    harbor.status = Registry.Status.HEALTHY
    harbor.save()
    namespace = Namespace.objects.create(cluster=Cluster.objects.create(name="c1"), name="free")
    client.force_login(admin)
    html = client.get(
        reverse("registries:picker-tags", args=[hostile_repository.pk]), {"namespace": namespace.pk}
    ).text
    page = read(html)
    reference = f"127.0.0.1:9/harbor/open/api:tag {HOSTILE}"
    assert f"tag {HOSTILE}" in page.text and f"linux/{HOSTILE}, linux/arm64" in page.text
    assert f"sha256:{HOSTILE}"[:18] + "…" in page.text and f"sha256:{HOSTILE}" in page.attributes
    assert reference in page.attributes and f"Choose {reference}" in page.attributes
    assert "2.4 MB" in page.text and "2026-11-30 09:15" in page.text  # (a no-break space read as one)
    # The cells are the repository page's (images/_tag_cells.html), so is their markup.
    repository_page = client.get(reverse("registries:repository", args=[hostile_repository.pk])).text
    cells = html[html.index('<td class="mono"') : html.index("</time></td>")]
    assert cells in repository_page


def test_space_rows_show_the_type_and_times_as_the_reader_reads_them(
    client, admin, harbor, bound_space, workspace, settings
):
    # The rows translate the Type and look the time zone up once per page, not per value.
    settings.TIME_ZONE = "Asia/Shanghai"
    SpaceBinding.objects.filter(space=bound_space).update(expires=NOW + datetime.timedelta(days=2))
    client.force_login(admin)
    url = reverse("registries:spaces", args=[harbor.pk])
    page = read(client.get(url).text)
    assert "payments Private" in page.text
    assert "2026-11-30 17:15" in page.text  # created, 09:15 UTC
    assert f"{workspace.name} · ends 2026-12-02 17:15" in page.text  # the hover list
    chinese = read(client.get(url, **ZH).text)
    assert "payments 私有" in chinese.text and "2026-12-02 17:15" in chinese.text


def test_every_value_of_a_matrix_row_is_escaped_and_its_badge_translated(client, admin, harbor, workspace):
    space = RegistrySpace.objects.create(
        registry=harbor, name=f"open {HOSTILE}", visibility="public", upstream_id="3", upstream_created=NOW
    )
    SpaceBinding.objects.create(space=space, workspace=workspace)
    client.force_login(admin)
    url = reverse("registries:binding-matrix")  # all registries: each space after its registry's name
    page = read(client.get(url).text)
    assert f"harbor-rows / open {HOSTILE} public" in page.text
    assert f"{space.pk}:{workspace.pk}" in page.attributes  # the ticked cell and what it was
    assert f"matrix-s{space.pk} matrix-w{workspace.pk}" in page.attributes
    chinese = read(client.get(url, {"registry": harbor.pk}, **ZH).text)
    assert f"open {HOSTILE} 公开" in chinese.text and "harbor-rows /" not in chinese.text
