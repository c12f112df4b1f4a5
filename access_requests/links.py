"""Where pages offer "Request access": the Images page, the picker's empty Private tab and the
explainer. The link is offered by role alone, never by whether a space exists, so it tells
nobody anything (README, "Access requests")."""

from urllib.parse import urlencode

from django.urls import reverse

from portal.permissions import can


def request_link(user, workspace_id, *, registry=None, space_name: str = "") -> str | None:
    """The prefilled "Request access" link for ``workspace_id``, or None when ``user`` may not ask
    for it (only its Workspace Admins and Editors may)."""
    if workspace_id is None or not can(user, "request_spaces", workspace_id):
        return None
    query = {"workspace": workspace_id}
    if registry is not None:
        query["registry"] = registry.pk
    if space_name:
        query["space"] = space_name
    return f"{reverse('access_requests:create')}?{urlencode(query)}"


def explainer_request_link(user, result) -> str | None:
    """For a failed space check of a platform registry: ask for that space. The explainer gives
    non-Admins the same failure for a private space and for no such space, and so is this link."""
    failure = result.failure if result is not None else None
    registry = result.registry if result is not None else None
    if failure is None or failure.key != "space" or registry is None or result.ref is None:
        return None
    if registry.scope != registry.Scope.PLATFORM:
        return None
    return request_link(
        user, result.namespace.workspace_id, registry=registry, space_name=result.ref.space_name
    )
