"""The permission-matrix helper fails when it should, and says who got what."""

import re

import pytest
from django.urls import reverse

from testkit.access import assert_access
from testkit.personas import ADMIN, ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER


def detail_url(workspace):
    return reverse("workspaces:detail", args=[workspace.pk])


def test_a_matching_matrix_passes_for_every_persona(client, workspace):
    assert_access(
        client,
        detail_url(workspace),
        {
            ADMIN: 200,
            WS_ADMIN: 200,
            WS_EDITOR: 200,
            WS_VIEWER: 200,
            OUTSIDER: 404,
            ANONYMOUS: 302,
        },
    )


def test_a_persona_with_another_status_fails_naming_it_and_both_statuses(client, workspace):
    with pytest.raises(AssertionError) as failure:
        assert_access(client, detail_url(workspace), {WS_VIEWER: 200, OUTSIDER: 200})
    message = str(failure.value)
    assert "outsider: expected 200, got 404" in message
    assert "ws_viewer" not in message.split("(all answers")[0]


def test_every_mismatch_is_listed_not_only_the_first(client, workspace):
    with pytest.raises(AssertionError) as failure:
        assert_access(
            client, detail_url(workspace), {ADMIN: 403, WS_VIEWER: 200, OUTSIDER: 200, ANONYMOUS: 200}
        )
    message = str(failure.value)
    assert "3 of 4 personas" in message
    assert "admin: expected 403, got 200" in message
    assert "outsider: expected 200, got 404" in message
    assert re.search(r"anonymous: expected 200, got 302 \(to /\S*login", message), message


def test_users_and_none_stand_for_themselves(client, workspace, ws_editor, outsider):
    assert_access(client, detail_url(workspace), {ws_editor: 200, outsider: 404, None: 302})
    with pytest.raises(AssertionError, match="user ws-editor: expected 404, got 200"):
        assert_access(client, detail_url(workspace), {ws_editor: 404})


def test_a_post_is_sent_with_its_data_and_the_client_is_left_logged_out(client, workspace, ws_viewer, admin):
    url = reverse("workspaces:edit", args=[workspace.pk])
    assert_access(client, url, {WS_VIEWER: 403, ADMIN: 302}, method="post", data={"description": "Payments"})
    workspace.refresh_from_db()
    assert workspace.description == "Payments"
    assert client.get(detail_url(workspace)).status_code == 302
