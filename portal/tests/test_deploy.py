"""The packaging: the Containerfile passes hadolint, and every Kustomize overlay renders into
manifests that the Kubernetes schemas accept and that keep the production rules."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted((ROOT / "deploy" / "kubernetes" / "overlays").iterdir())
KUBERNETES_VERSION = "1.32.0"
WORKLOADS = {"Deployment", "Job", "CronJob"}


def need(tool: str) -> str:
    found = shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("WHARF_REQUIRE_INTEGRATION") == "1":
            pytest.fail(f"{tool} is not installed")
        pytest.skip(f"{tool} is not installed")
    return found


def render(overlay: Path) -> list[dict]:
    output = subprocess.run(
        [need("kubectl"), "kustomize", str(overlay)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def pod_spec(resource: dict) -> dict:
    spec = resource["spec"]
    if resource["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def by_name(resources, kind, name):
    return next(r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name)


def test_containerfile_passes_hadolint():
    result = subprocess.run(
        [need("hadolint"), str(ROOT / "Containerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_containerfile_builds_one_unprivileged_image_for_every_process():
    text = (ROOT / "Containerfile").read_text()
    assert "ARG BASE_IMAGE=docker.io/library/python:3.13-slim" in text
    assert text.count("FROM ${BASE_IMAGE}") == 2  # build stage, then a clean runtime stage
    assert "collectstatic --noinput" in text
    assert "\nCOPY locale locale\n" in text  # the compiled translations
    assert "\nUSER 10001:10001\n" in text
    assert 'CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "portal.wsgi"]' in text


def test_there_is_a_production_overlay():
    assert [overlay.name for overlay in OVERLAYS] == ["production"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_overlay_renders_and_validates_against_the_kubernetes_schemas(overlay):
    resources = render(overlay)
    assert resources
    for resource in resources:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_overlay_keeps_the_production_rules(overlay):
    resources = render(overlay)
    kinds = {(r["kind"], r["metadata"]["name"]) for r in resources}
    assert {
        ("Deployment", "wharf-web"),
        ("Deployment", "wharf-worker"),
        ("Service", "wharf-web"),
        ("Ingress", "wharf"),
        ("PodDisruptionBudget", "wharf-web"),
        ("Job", "wharf-migrate"),
        ("CronJob", "wharf-sync-registries"),
        ("CronJob", "wharf-reconcile-credentials"),
    } <= kinds
    # Secrets are referenced, never shipped in the manifests.
    assert not any(r["kind"] == "Secret" for r in resources)

    web = by_name(resources, "Deployment", "wharf-web")
    assert web["spec"]["replicas"] >= 2
    container = pod_spec(web)["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert by_name(resources, "PodDisruptionBudget", "wharf-web")["spec"]["minAvailable"] >= 1

    commands = {}
    for resource in resources:
        if resource["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(resource)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in spec["containers"]:
            name = f"{resource['metadata']['name']}/{container['name']}"
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name
            assert {"secretRef": {"name": "wharf-secrets"}} in container["envFrom"], name
            assert container["image"].startswith("registry.example.com/") and ":" in container["image"], name
            commands[resource["metadata"]["name"]] = " ".join(container.get("command", []))
    assert commands["wharf-worker"].startswith("python manage.py db_worker")
    assert commands["wharf-migrate"] == "python manage.py migrate --noinput"
    assert commands["wharf-sync-registries"] == "python manage.py sync_registries"
    assert commands["wharf-reconcile-credentials"] == "python manage.py reconcile_credentials"
    assert commands["wharf-requeue-stale-tasks"] == "python manage.py requeue_stale_tasks"
    assert commands["wharf-expire-bindings"] == "python manage.py expire_bindings"
    assert commands["wharf-web"] == ""  # the image's own command: gunicorn
