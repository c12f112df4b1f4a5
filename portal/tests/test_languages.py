"""English by default, zh-Hans from the browser or the top bar's switch, kept for the person."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD, make_user
from portal.models import UserPreference
from registries.models import Registry, RegistrySpace

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9,en;q=0.5"}


def sign_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def switch(client, language, next_url="/"):
    return client.post(reverse("set-language"), {"language": language, "next": next_url})


@pytest.mark.django_db
def test_pages_are_in_english_by_default(client):
    response = client.get(reverse("login"))
    assert '<html lang="en">' in response.text
    assert "Log in to Wharf" in response.text


@pytest.mark.django_db
def test_the_browsers_accept_language_gives_chinese(client):
    response = client.get(reverse("login"), **ZH)
    assert '<html lang="zh-hans">' in response.text
    assert "登录 Wharf" in response.text
    assert "Log in to Wharf" not in response.text
    assert response["Content-Language"] == "zh-hans"


def test_the_top_bar_offers_the_switch_as_a_post_form(client, ws_viewer):
    client.force_login(ws_viewer)
    page = client.get(reverse("dashboard") + "?x=1").text
    assert f'action="{reverse("set-language")}"' in page
    assert 'name="next" value="/?x=1"' in page
    assert 'lang="zh-Hans"' in page and "简体中文" in page


def test_the_switch_is_kept_for_the_person_across_sessions(ws_viewer):
    first = sign_in(Client(), ws_viewer)
    response = switch(first, "zh-hans", "/registries/?q=x")
    assert response.status_code == 302 and response["Location"] == "/registries/?q=x"
    assert UserPreference.objects.get(user=ws_viewer).language == "zh-hans"
    assert "概览" in first.get(reverse("dashboard")).text

    # Another browser: no cookie, an English Accept-Language, and still Chinese after sign-in.
    second = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Log in to Wharf" in second.get(reverse("login")).text
    sign_in(second, ws_viewer)
    page = second.get(reverse("dashboard")).text
    assert '<html lang="zh-hans">' in page and "我的工作空间" in page

    switch(second, "en")
    assert UserPreference.objects.get(user=ws_viewer).language == "en"
    assert "Your workspaces" in sign_in(Client(**ZH), ws_viewer).get(reverse("dashboard")).text


@pytest.mark.django_db
def test_an_anonymous_switch_keeps_the_cookie_and_stores_nothing(client):
    response = switch(client, "zh-hans", "/login/")
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "zh-hans"
    assert "登录 Wharf" in client.get(reverse("login")).text
    assert not UserPreference.objects.exists()


def test_the_switch_sends_back_only_to_this_site(client, ws_viewer):
    client.force_login(ws_viewer)
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = switch(client, "zh-hans", evil)
        assert response.status_code == 302 and response["Location"] == reverse("dashboard")


def test_an_unknown_language_changes_nothing(client, ws_viewer):
    client.force_login(ws_viewer)
    switch(client, "fr")
    assert not UserPreference.objects.exists()
    assert "Your workspaces" in client.get(reverse("dashboard")).text


def test_a_get_of_the_switch_writes_nothing(client, ws_viewer):
    client.force_login(ws_viewer)
    assert client.get(reverse("set-language"), {"language": "zh-hans"}).status_code == 405
    assert not UserPreference.objects.exists()


def test_django_admin_follows_the_same_language(client, admin):
    sign_in(client, admin)
    switch(client, "zh-hans")
    page = client.get("/admin/").text
    assert '<html lang="zh-hans"' in page
    assert "Wharf 管理" in page
    assert "工作空间" in page  # Wharf's own models, by their verbose names


def test_api_error_messages_follow_accept_language(client, ws_viewer):
    client.force_login(ws_viewer)
    english = client.get("/api/v1/workspaces/", {"page": ""})
    chinese = client.get("/api/v1/workspaces/", {"page": ""}, **ZH)
    assert english.status_code == chinese.status_code == 400
    assert json.loads(english.text) == {"page": ["A whole number is required."]}
    assert json.loads(chinese.text) == {"page": ["需要一个整数。"]}
    anonymous = Client().get("/api/v1/workspaces/", **ZH)
    assert anonymous.status_code in (401, 403) and "Authentication" not in anonymous.text


@pytest.mark.parametrize(
    ("headers", "toast"),
    [
        ({}, "Bound/Unbound workspace successfully"),
        (ZH, "绑定/解绑工作空间成功"),
    ],
)
def test_the_seeds_toast_in_both_languages(client, admin, workspace, headers, toast):
    registry = Registry.objects.create(
        name="harbor", kind="harbor", url="https://harbor.example.com", is_demo=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="team-a", visibility="private")
    client.force_login(admin)
    response = client.post(
        reverse("registries:space-bindings", args=[registry.pk, space.pk]),
        {"workspaces": [workspace.pk]},
        headers={"HX-Request": "true"},
        **headers,
    )
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert toast in json.dumps(events, ensure_ascii=False)


def test_a_stored_language_survives_a_new_accept_language(client, db):
    user = make_user("li-wei")
    UserPreference.objects.create(user=user, language="zh-hans")
    sign_in(client, user)
    assert "我的工作空间" in client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").text
