"""Settings of single sign-on: checked at start, with the variable named."""

import os
import subprocess
import sys

import pytest

from portal import permissions
from portal.tests.test_settings import ROOT, start_settings
from sso.conf import ROLES_STRONGEST_FIRST, origin, workspace_group_regex


def test_the_role_names_are_portals():
    assert ROLES_STRONGEST_FIRST == [permissions.ROLE_ADMIN, permissions.ROLE_EDITOR, permissions.ROLE_VIEWER]


@pytest.mark.parametrize(
    "pattern, group, expected",
    [
        ("wharf:{workspace}:{role}", "wharf:payments:editor", ("payments", "editor")),
        ("wharf:{workspace}:{role}", "wharf:pay-ments2:admin", ("pay-ments2", "admin")),
        ("wharf:{workspace}:{role}", "wharf:payments:owner", None),
        ("wharf:{workspace}:{role}", "wharf:Payments:admin", None),
        ("wharf:{workspace}:{role}", "wharf:payments:admin:extra", None),
        ("wharf:{workspace}:{role}", "wharfXpayments:admin", None),
        ("team-{workspace}.{role}", "team-search.viewer", ("search", "viewer")),
        ("team-{workspace}.{role}", "team-searchXviewer", None),  # the dot is a dot, not "any character"
        ("{role}@{workspace}", "admin@payments", ("payments", "admin")),
    ],
)
def test_the_workspace_group_pattern_matches_whole_group_names(pattern, group, expected):
    match = workspace_group_regex(pattern).fullmatch(group)
    assert (match and (match["workspace"], match["role"])) == (expected or None)


@pytest.mark.parametrize("pattern", ["wharf:{workspace}", "wharf:{role}", "{workspace}{workspace}:{role}"])
def test_a_pattern_without_both_placeholders_is_refused(pattern):
    with pytest.raises(ValueError, match="exactly once"):
        workspace_group_regex(pattern)


def test_origin_of_an_issuer():
    assert origin("https://sso.example.com/realms/dce") == "https://sso.example.com"


PROVIDER = {
    "DEBUG": "1",
    "WHARF_OIDC_ISSUER": "https://sso.example.com/realms/dce",
    "WHARF_OIDC_CLIENT_ID": "wharf",
    "WHARF_OIDC_CLIENT_SECRET": "secret",
}


def test_a_complete_provider_configuration_starts():
    result = start_settings(**PROVIDER)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WHARF_OIDC_CLIENT_SECRET": ""}, "WHARF_OIDC_CLIENT_SECRET must be set"),
        ({"WHARF_OIDC_CLIENT_ID": ""}, "WHARF_OIDC_CLIENT_ID must be set"),
        ({"WHARF_OIDC_ISSUER": "sso.example.com"}, "WHARF_OIDC_ISSUER: the issuer must be an http(s) URL"),
        ({"WHARF_OIDC_SCOPES": "profile groups"}, "WHARF_OIDC_SCOPES must include openid"),
        ({"WHARF_OIDC_WORKSPACE_GROUP_PATTERN": "wharf-{workspace}"}, "WHARF_OIDC_WORKSPACE_GROUP_PATTERN"),
        ({"WHARF_LOCAL_LOGIN": "maybe"}, "WHARF_LOCAL_LOGIN must be one of"),
    ],
)
def test_a_bad_provider_setting_is_named_at_start(env, message):
    result = start_settings(**{**PROVIDER, **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_local_login_cannot_be_turned_off_without_a_provider():
    result = start_settings(DEBUG="1", WHARF_LOCAL_LOGIN="off")
    assert result.returncode != 0
    assert "WHARF_LOCAL_LOGIN can be turned off only when WHARF_OIDC_ISSUER is set" in result.stderr


def test_with_a_provider_logout_may_redirect_to_it_under_the_csp():
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings as s; print(s.SECURE_CSP['form-action'])"],
        cwd=ROOT,
        env={**os.environ, **PROVIDER},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "'https://sso.example.com'" in result.stdout
