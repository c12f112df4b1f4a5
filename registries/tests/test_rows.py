"""The rows built in Python (registries/rows.py): what a reader sees, escaped and translated."""

import datetime

import pytest
from django.urls import reverse

from registries.models import PullCredential, Registry, RegistrySpace, Repository, SpaceBinding, Tag

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9,en;q=0.5"}
NOW = datetime.datetime(2026, 11, 30, 9, 15, tzinfo=datetime.UTC)


@pytest.fixture
def harbor(db):
    # Never contacted: the pages read what the last sync stored.
    return Registry.objects.create(name="harbor-rows", kind="harbor", username="admin",
                                   url="http://127.0.0.1:9/harbor", last_sync=NOW)


@pytest.fixture
def bound_space(harbor, workspace):
    space = RegistrySpace.objects.create(registry=harbor, name="payments", visibility="private",
                                         upstream_id="1", upstream_created=NOW)
    SpaceBinding.objects.create(space=space, workspace=workspace)
    PullCredential.objects.create(registry=harbor, workspace=workspace, username="robot$wharf-1",
                                  state="failed", attempts=2, error="<b>Harbor</b> said \"no\"")
    return space


def test_a_robots_failure_reason_is_shown_escaped_with_retry(client, admin, harbor, bound_space, workspace):
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor.pk])).text
    assert "&lt;b&gt;Harbor&lt;/b&gt; said &quot;no&quot; (2 attempts)" in page
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


def test_tag_rows_show_the_short_digest_as_the_filter_did_in_each_language(client, ws_editor, harbor,
                                                                            bound_space):
    repository = Repository.objects.create(space=bound_space, name="payments/api", tag_count=1,
                                           last_push=NOW)
    Tag.objects.create(repository=repository, name="v1<2", digest="sha256:" + "ab" * 32,
                       size=2_500_000, pushed=NOW, platforms=["linux/amd64", "linux/arm64"])
    client.force_login(ws_editor)
    url = reverse("registries:repository", args=[repository.pk])
    page = client.get(url).text
    assert "sha256:abababababa…" in page  # 19 characters with the ellipsis
    assert "2.4\xa0MB" in page and "2026-11-30 09:15" in page and "linux/amd64, linux/arm64" in page
    assert "v1&lt;2" in page and "Delete image" in page
    chinese = client.get(url, **ZH).text
    assert "sha256:ababababa..." in chinese and "复制 v1&lt;2 的拉取命令" in chinese
