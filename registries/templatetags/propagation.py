"""The Registry space page's propagation status of Harbor pull credentials."""

from django import template

from registries import robots
from registries.models import PullCredential

register = template.Library()


@register.simple_tag
def propagation(registry, space, bound) -> dict | None:
    """Where each bound workspace's robot stands for this space: None when no robot is
    involved (public space, demo, not a platform Harbor, nothing bound).

    All of the registry's credentials are read in one query per page (cached on the registry
    object), so the page's query count stays constant.
    """
    if space.is_public or not bound or not robots.manages_robots(registry):
        return None
    credentials = robots.credentials_by_workspace(registry)
    status = {"done": [], "pending": [], "failed": []}
    for workspace in bound:
        credential = credentials.get(workspace.pk)
        state = credential.state if credential is not None else PullCredential.State.PENDING
        status[state].append({"workspace": workspace, "credential": credential})
    status["all_done"] = not status["pending"] and not status["failed"]
    return status
