"""Kubernetes manifests made by Create by Image: plain functions, no database.

The caller decides whether the image is private (registries.explain.image_is_private, which
asks the access rule); a private image's pod spec references the namespace's pull secret.
"""

import yaml

PULL_SECRET_NAME = "registry-secret"


def deployment(
    *,
    namespace: str,
    name: str,
    image: str,
    replicas: int = 1,
    container_port: int | None = None,
    always_pull: bool = False,
    private: bool = False,
) -> dict:
    """A Deployment of one container, labelled ``app: <name>``."""
    labels = {"app": name}
    container = {"name": name, "image": image}
    if always_pull:
        container["imagePullPolicy"] = "Always"
    if container_port is not None:
        container["ports"] = [{"containerPort": container_port, "protocol": "TCP"}]
    pod_spec = {"containers": [container]}
    if private:
        pod_spec["imagePullSecrets"] = [{"name": PULL_SECRET_NAME}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        },
    }


def to_yaml(manifest: dict) -> str:
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, allow_unicode=True)


def filename(name: str) -> str:
    return f"{name}.yaml"
