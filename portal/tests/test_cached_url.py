"""{% url %} and the navigation remember what they reversed (portal/urlmakers.py): the answers
must stay those of reverse(), whatever the script prefix (an app served below a path)."""

from django.template import engines
from django.urls import reverse, set_script_prefix

from portal.urlmakers import cached_reverse


def test_a_remembered_url_follows_the_script_prefix():
    template = engines["django"].from_string("{% url 'registries:spaces' 7 %} {% url 'profile' %}")
    spaces, profile = reverse("registries:spaces", args=[7]), reverse("profile")
    plain = template.render({})
    assert plain == f"{spaces} {profile}"
    set_script_prefix("/wharf/")
    try:
        assert template.render({}) == f"/wharf{spaces} /wharf{profile}"
        assert cached_reverse("registries:spaces", [7]) == f"/wharf{spaces}"
    finally:
        set_script_prefix("/")
    assert template.render({}) == plain


def test_url_tag_with_as_and_a_missing_route_still_answers_as_djangos():
    template = engines["django"].from_string("{% url 'no-such-page' as missing %}[{{ missing }}]")
    assert template.render({}) == "[]"
