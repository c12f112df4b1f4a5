"""Every image reference Wharf shows or returns is made by registries/imagerefs.py; these check
what its formatting helpers make, and that each one reads back to the same parts."""

from types import SimpleNamespace

from registries.imagerefs import in_space, of_repository, parse, tag_references, without_host

DIGEST = "sha256:" + "ab" * 32


def test_a_tag_with_a_known_digest_gets_its_reference_and_the_pinned_one():
    tag = SimpleNamespace(name="1.0", digest=DIGEST)
    assert tag_references("harbor.example.com", "team/app", tag) == (
        "harbor.example.com/team/app:1.0",
        f"harbor.example.com/team/app@{DIGEST}",
    )


def test_a_tag_whose_digest_is_unknown_has_no_pinned_reference():
    tag = SimpleNamespace(name="latest", digest="")
    assert tag_references("registry.example.com:5000", "team/app", tag) == (
        "registry.example.com:5000/team/app:latest",
        "",
    )


def test_a_stored_repository_takes_its_host_from_its_space_s_registry():
    repository = SimpleNamespace(
        name="team/tools/cli", space=SimpleNamespace(registry=SimpleNamespace(host="hub.example.com"))
    )
    assert of_repository(repository) == "hub.example.com/team/tools/cli"
    assert of_repository(repository, tag="2.1") == "hub.example.com/team/tools/cli:2.1"
    # Pinned by digest, the tag is left out: the digest alone decides what is pulled.
    assert of_repository(repository, tag="2.1", digest=DIGEST) == f"hub.example.com/team/tools/cli@{DIGEST}"


def test_push_targets_and_audit_labels_read_back_as_the_same_parts():
    target = in_space("hub.example.com", "team-a", "api", tag="1.2")
    assert target == "hub.example.com/team-a/api:1.2"
    ref = parse(target)
    assert (ref.host, ref.path, ref.tag, ref.space_name) == ("hub.example.com", "team-a/api", "1.2", "team-a")
    assert without_host("team-a/api", tag="1.2") == "team-a/api:1.2"
    assert without_host("team-a/api", digest=DIGEST) == f"team-a/api@{DIGEST}"
