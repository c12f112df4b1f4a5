"""The zh-Hans catalog is complete, compiled, and every page in Chinese has no English left.

* the committed ``django.mo`` says what ``django.po`` says (the .mo is what Django reads, and
  ``make run`` needs no gettext to build it);
* every string marked for translation in the code has a zh-Hans entry (``makemessages`` over a
  copy of the tree, so the committed catalog is never touched);
* every page, fragment and dialog rendered in zh-Hans, as each persona, shows no English word
  outside a short allow-list (product names, technical words) and the data on the page: a
  string that was never marked would stay English and fail here.
"""

import gettext
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from portal.tests.test_no_writes_on_get import (  # noqa: F401 - world is a fixture
    SKIPPED,
    _client_for,
    requests_for,
    routes,
    world,
)

CATALOG = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = CATALOG / "django.po"
MO_FILE = CATALOG / "django.mo"
MESSAGES_IGNORE = [".venv", "node_modules", "bench", "staticfiles", "*/tests/*", "conftest.py"]


def _catalog() -> polib.POFile:
    return polib.pofile(str(PO_FILE))


def _key(entry) -> tuple:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def _translations(entry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def test_every_catalog_entry_is_translated():
    untranslated = [
        entry.msgid
        for entry in _catalog()
        if entry.obsolete is False and ("fuzzy" in entry.flags or not all(_translations(entry)))
    ]
    assert not untranslated, f"{len(untranslated)} untranslated or fuzzy: {untranslated[:20]}"


def test_the_committed_mo_file_matches_the_po_file():
    """After editing django.po, run `make messages` (or compilemessages) and commit django.mo."""
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for entry in _catalog():
        if entry.obsolete or "fuzzy" in entry.flags:
            continue
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            for index, text in entry.msgstr_plural.items():
                expected[(msgid, int(index))] = text
        elif entry.msgstr:
            expected[msgid] = entry.msgstr
    compiled = {key: value for key, value in compiled.items() if key != ""}
    assert compiled == expected


_PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|\{\w+\}|%[sdr]|<[^>]+>")


def test_translations_keep_every_placeholder_and_tag():
    broken = []
    for entry in _catalog():
        sources = [entry.msgid_plural or entry.msgid] if entry.msgid_plural else [entry.msgid]
        for source, text in zip(sources * len(_translations(entry)), _translations(entry), strict=True):
            if sorted(_PLACEHOLDER.findall(source)) != sorted(_PLACEHOLDER.findall(text)):
                broken.append((source, text))
    assert not broken, broken


def test_image_is_jingxiang_never_tuxiang():
    """DCE's term for a container image is 镜像; 图像 (a picture) is wrong everywhere."""
    wrong = [entry.msgid for entry in _catalog() if any("图像" in text for text in _translations(entry))]
    assert not wrong, wrong
    images = [
        entry
        for entry in _catalog()
        if re.search(r"\bimages?\b", _PLACEHOLDER.sub("", entry.msgid), re.IGNORECASE)
    ]
    assert images and all("镜像" in " ".join(_translations(entry)) for entry in images), [
        entry.msgid for entry in images if "镜像" not in " ".join(_translations(entry))
    ]


def test_dce_terms_are_used():
    by_msgid = {entry.msgid: entry.msgstr for entry in _catalog() if not entry.msgid_plural}
    for english, chinese in {
        "Container Registry": "镜像仓库",
        "Integrated Registry (Admin)": "仓库集成",
        "Integrated Registry (Workspace)": "关联仓库",
        "Registry space": "镜像空间",
        "Choose Image": "选择镜像",
        "Workspace": "工作空间",
        "Namespace": "命名空间",
        "Bind/unbind workspace": "绑定/解绑工作空间",
        "No binding": "待分配",
        "Public": "公开",
        "Private": "私有",
        "OK": "确定",
        "Cancel": "取消",
        "Create registry space": "创建镜像空间",
        "Bound/Unbound workspace successfully": "绑定/解绑工作空间成功",
    }.items():
        assert by_msgid[english] == chinese, english


def _copy_of_the_tree(destination: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "staticfiles", "locale", "*.sqlite3", "__pycache__", "bench"
    )
    shutil.copytree(settings.BASE_DIR, destination, ignore=ignore, symlinks=True)
    return destination


def test_every_marked_string_has_a_zh_hans_entry(tmp_path):
    if not shutil.which("xgettext") or not shutil.which("msgmerge"):
        if os.environ.get("WHARF_REQUIRE_INTEGRATION"):
            pytest.fail("GNU gettext (xgettext) is needed: apt-get install gettext")
        pytest.skip("GNU gettext (xgettext) is not installed")
    tree = _copy_of_the_tree(tmp_path / "tree")
    (tree / "locale").mkdir()
    command = [
        sys.executable,
        "manage.py",
        "makemessages",
        "--locale=zh_Hans",
        "--no-location",
        *[f"--ignore={pattern}" for pattern in MESSAGES_IGNORE],
    ]
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    subprocess.run(command, cwd=tree, env=environment, check=True, capture_output=True)
    extracted = polib.pofile(str(tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    known = {_key(entry): entry for entry in _catalog() if not entry.obsolete}
    missing = [
        entry.msgid
        for entry in extracted
        if _key(entry) not in known
        or "fuzzy" in known[_key(entry)].flags
        or not all(_translations(known[_key(entry)]))
    ]
    assert extracted and not missing, (
        f"{len(missing)} marked strings have no zh-Hans translation (run `make messages`, "
        f"then translate them in {PO_FILE.relative_to(settings.BASE_DIR)}): {missing[:30]}"
    )


# -- pages in zh-Hans ------------------------------------------------------------------------

# Words that stay as they are in Chinese text: product and protocol names, Kubernetes kinds,
# and the technical tokens the pages show as they must be typed.
ALLOWED_WORDS = {
    "wharf",
    "harbor",
    "docker",
    "registry",
    "hub",
    "kubernetes",
    "dce",
    "openid",
    "connect",
    "jfrog",
    "artifactory",
    "oidc",
    "api",
    "url",
    "yaml",
    "json",
    "tls",
    "pem",
    "ca",
    "id",
    "http",
    "https",
    "dns",
    "sha",
    "sha256",
    "cpu",
    "pod",
    "pods",
    "deployment",
    "secret",
    "registry-secret",
    "imagepullsecrets",
    "imagepullpolicy",
    "always",
    "token",
    "bearer",
    "basic",
    "key",
    "authorization",
    "kubectl",
    "apply",
    "manage",
    "py",
    "token_keys",
    "rotate",
    "bundle",
    "create",
    "auth",
    "service",
    "aud",
    "null",
    "public",
    "private",
    "admin",
    "workspace",
    "editor",
    "viewer",
    "nat",
    "ci",
    "ipv4",
    "robot",
    "amd64",
    "arm64",
    "linux",
    "oci",
    "io",
    "utc",
    "gib",
    "mib",
    "kib",
    "kb",
    "mb",
    "gb",
    "tag",
    "host",
    "repository",
    "space",
    "port",
    "path",
    "digest",
    "etc",
    "crt",
    "rootcertbundle",
    "issuer",
    "realm",
    "ldap",
    "skopeo",
    "csv",
}
# Django admin's own words that no catalog can translate: key names in Django's help text, the
# alt text of its True/False icons, the names Django makes for many-to-many rows on a delete
# page, and django-tasks-db's untranslated app and field names.
ADMIN_WORDS = {
    "control",
    "command",
    "mac",
    "true",
    "false",
    "user_groups",
    "relationship",
    "relationships",
    "object",
    "tasks",
    "database",
    "backend",
    "priority",
    "queue",
}
# Markup whose text is code, data or a command, never prose.
CODE_TAGS = {"code", "pre", "kbd", "samp", "textarea", "script", "style", "template"}
VISIBLE_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt")
# Addresses, paths and file names are typed as they are.
_ADDRESS = re.compile(r"\S+://\S+|(?<!\S)/\S+|\S+\.(?:pem|yaml|yml|json|py)\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’-]*[A-Za-z0-9]|[A-Za-z]")


class VisibleText(HTMLParser):
    """The text a person reads (and a screen reader speaks), minus code and other languages."""

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its text skipped?
        self.parts: list[str] = []

    def _skipped(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        lang = (attributes.get("lang") or "").lower()
        skip = self._skipped() or tag in CODE_TAGS or (lang and not lang.startswith("zh"))
        if not skip:
            self.parts.extend(attributes[name] for name in VISIBLE_ATTRIBUTES if attributes.get(name))
            if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
                self.parts.append(attributes["value"])
        if tag not in self.VOID:
            self.stack.append(bool(skip))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self._skipped():
            self.parts.append(data)


def english_words(html: str, data_words: set[str]) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    words = set()
    for part in parser.parts:
        for word in _WORD.findall(_ADDRESS.sub(" ", part)):
            lowered = word.lower()
            if any(char.isdigit() for char in word):  # ids, digests, versions: data
                continue
            pieces = re.split(r"[-_'’]", lowered)
            if (
                lowered in ALLOWED_WORDS
                or lowered in data_words
                or all(piece in ALLOWED_WORDS or piece in data_words or len(piece) <= 1 for piece in pieces)
            ):
                continue
            words.add(word)
    return words


def _words_in_the_data() -> set[str]:
    """Every word stored in the database: names, descriptions, hosts (user data, not UI)."""
    words = set()
    for model in apps.get_models():
        fields = [
            field
            for field in model._meta.concrete_fields
            if isinstance(field, (models.CharField, models.TextField, models.JSONField))
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*[field.attname for field in fields]):
            for field, value in zip(fields, row, strict=True):
                if field.choices and value in dict(field.flatchoices):
                    continue  # a valid choice is shown by its (translated) label
                words.update(word.lower() for word in _WORD.findall(str(value or "")))
                words.update(piece.lower() for piece in re.split(r"[^A-Za-z0-9]+", str(value or "")) if piece)
    return words


@pytest.mark.parametrize("persona", ["anonymous", "admin", "ws_admin", "ws_viewer", "superuser"])
def test_every_page_in_zh_hans_has_no_english_left(world, persona):  # noqa: F811
    client = _client_for(persona, world)
    data_words = _words_in_the_data()
    found: dict[str, set[str]] = {}
    pages = 0
    for route in routes():
        if route.name in SKIPPED or route.is_api:
            continue
        for request in requests_for(route, world):
            typed = {word.lower() for value in request.query.values() for word in _WORD.findall(str(value))}
            response = client.get(
                request.path, request.query, headers=request.headers, HTTP_ACCEPT_LANGUAGE="zh-Hans,zh;q=0.9"
            )
            if "text/html" not in response.get("Content-Type", "") or 300 <= response.status_code < 400:
                continue
            pages += 1
            allowed = data_words | typed | (ADMIN_WORDS if route.is_admin else set())
            for word in english_words(response.content.decode(), allowed):
                found.setdefault(word, set()).add(str(request))
    assert pages > (1 if persona == "anonymous" else 10)
    report = "\n".join(f"{word}: {sorted(where)[:2]}" for word, where in sorted(found.items()))
    assert not found, f"English left on zh-Hans pages as {persona}:\n{report}"


def test_the_checker_finds_an_unmarked_string():
    html = '<main><h1>镜像列表</h1><p>Nothing here yet</p><code>kubectl apply</code><option lang="en">English</option></main>'
    assert english_words(html, set()) == {"Nothing", "here", "yet"}
