"""The image reference parser (registries/imagerefs.py): plain Python, no database."""

import pytest

from registries.imagerefs import ImageRef, ImageRefError, compose, is_valid, parse

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "text, host, path, tag, digest",
    [
        ("harbor.example.com/team/app:1.0", "harbor.example.com", "team/app", "1.0", None),
        ("harbor.example.com:8443/team/app:1.0", "harbor.example.com:8443", "team/app", "1.0", None),
        (
            "harbor.example.com/team/tools/cli:v2.3.4-rc.1",
            "harbor.example.com",
            "team/tools/cli",
            "v2.3.4-rc.1",
            None,
        ),
        ("127.0.0.1:5000/library/alpine", "127.0.0.1:5000", "library/alpine", None, None),
        ("localhost/app", "localhost", "app", None, None),
        ("localhost:5000/app:latest", "localhost:5000", "app", "latest", None),
        ("[::1]:5000/team/app:1", "[::1]:5000", "team/app", "1", None),
        ("nginx", None, "nginx", None, None),
        ("nginx:1.27", None, "nginx", "1.27", None),
        ("library/nginx:1.27", None, "library/nginx", "1.27", None),
        (f"harbor.example.com/team/app@{DIGEST}", "harbor.example.com", "team/app", None, DIGEST),
        (f"harbor.example.com/team/app:1.0@{DIGEST}", "harbor.example.com", "team/app", "1.0", DIGEST),
        ("registry.example.com/a__b/c.d/e--f:_x", "registry.example.com", "a__b/c.d/e--f", "_x", None),
        ("  harbor.example.com/team/app:1.0  ", "harbor.example.com", "team/app", "1.0", None),
    ],
)
def test_valid_references_parse_into_their_parts(text, host, path, tag, digest):
    ref = parse(text)
    assert (ref.host, ref.path, ref.tag, ref.digest) == (host, path, tag, digest)
    assert is_valid(text)


def test_str_round_trips():
    for text in ["harbor.example.com:8443/team/app:1.0", f"h.example.com/a@{DIGEST}", "nginx"]:
        assert str(parse(text)) == text


def test_defaults_follow_docker():
    ref = parse("nginx")
    assert ref.registry_host == "docker.io"
    assert ref.effective_tag == "latest"
    assert ref.space_name == "library"
    assert parse(f"h.example.com/a/b@{DIGEST}").effective_tag is None


def test_space_is_the_first_path_part():
    assert parse("h.example.com/team-a/tools/cli:1").space_name == "team-a"
    assert parse("h.example.com/alpine:3").space_name == "library"


def test_compose_by_tag_and_by_digest():
    assert compose("h.example.com:5000", "team/app", tag="1.0") == "h.example.com:5000/team/app:1.0"
    assert (
        compose("h.example.com", "team/app", tag="1.0", digest=DIGEST) == f"h.example.com/team/app@{DIGEST}"
    )
    assert compose("h.example.com", "team/app") == "h.example.com/team/app"
    assert isinstance(parse(compose("h.example.com", "team/app", tag="x")), ImageRef)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Enter an image"),
        ("   ", "Enter an image"),
        ("harbor.example.com/team/app: 1.0", "cannot contain spaces"),
        ("https://harbor.example.com/team/app:1.0", "Leave out the scheme"),
        ("harbor.example.com/Team/App:1.0", "must be lowercase"),
        ("harbor.example.com/team//app", "empty part"),
        ("harbor.example.com/team/app/", "empty part"),
        ("harbor.example.com/", "needs a repository path"),
        ("harbor.example.com/team/app:", "is not a valid tag"),
        ("harbor.example.com/team/app:-bad", "is not a valid tag"),
        ("harbor.example.com/team/app:" + "x" * 129, "is not a valid tag"),
        ("harbor.example.com/team/app@sha256:abc", "exactly 64 lowercase hexadecimal"),
        ("harbor.example.com/team/app@sha256:" + "A" * 64, "exactly 64 lowercase hexadecimal"),
        ("harbor.example.com/team/app@md5:" + "a" * 32, "Only sha256 digests"),
        ("@" + DIGEST, "Name the image before the digest"),
        ("harbor.example.com:99999/team/app", "between 1 and 65535"),
        ("harbor.example.com:0/team/app", "between 1 and 65535"),
        ("-bad-.example.com/team/app", "is not a valid registry host"),
        ("harbor.example.com:port/team/app", "is not a valid registry host"),
        ("harbor.example.com/team/a$pp", "is not a valid repository path part"),
        ("harbor.example.com/team/-app", "is not a valid repository path part"),
        ("harbor.example.com/team/app..x", "is not a valid repository path part"),
        ("harbor.example.com/te:am/app", "A colon may only separate"),
        ("h.example.com/" + "a" * 250, "at most 255 characters"),
        ("x" * 600, "at most 512 characters"),
        ("../../etc/passwd", "is not a valid registry host"),
        ("team/../etc", "is not a valid repository path part"),
    ],
)
def test_garbage_is_refused_with_a_clear_message(text, message):
    with pytest.raises(ImageRefError) as caught:
        parse(text)
    assert message in caught.value.message
    assert not is_valid(text)


def test_none_is_refused():
    with pytest.raises(ImageRefError):
        parse(None)
