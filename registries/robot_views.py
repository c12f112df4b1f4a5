"""The propagation status's Retry button (Registry space page, Admin only)."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import audit
from portal.decorators import admin_required
from portal.htmx import toast_events, trigger
from registries import robots
from registries.models import PullCredential, Registry


@admin_required
@require_POST
def retry_credential(request, pk, credential_pk):
    """Reconcile one workspace's robot on this Harbor again (enqueued once this commits)."""
    credential = get_object_or_404(
        PullCredential.objects.select_related("workspace", "registry"),
        pk=credential_pk,
        registry_id=pk,
        registry__kind__in=Registry.kinds_supporting("robot_accounts"),
        registry__scope=Registry.Scope.PLATFORM,
        registry__is_demo=False,
    )
    workspace = credential.workspace.name
    with transaction.atomic():
        audit.record(
            request.user,
            "credential.retry",
            credential,
            label=str(credential.workspace),
            before={"state": credential.state, "error": credential.error},
            after={"workspace": workspace, "registry": credential.registry.name},
        )
        robots.changed(credential.registry, [credential.workspace_id], may_grant=False)
    # With a worker the reconcile is still queued; with the immediate backend it has run.
    now = PullCredential.objects.filter(pk=credential.pk).only("state", "error").first()
    level, names = "success", {"workspace": workspace}
    if now is None or now.state == PullCredential.State.DONE:
        message = _("The pull credential of %(workspace)s is up to date in Harbor.") % names
    elif now.state == PullCredential.State.FAILED:
        message = _("Retry failed for %(workspace)s: %(error)s") % {**names, "error": now.error}
        level = "error"
    else:
        message = _("Retry queued for %(workspace)s.") % names
    if request.htmx:
        events = toast_events(message, "spaces-changed", close_modal=False)
        if level == "error":
            events["showToast"]["level"] = "error"
        return trigger(events)
    getattr(messages, level)(request, message)
    return redirect("registries:spaces", pk=pk)
