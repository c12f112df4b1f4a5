"""A member's request that an Admin bind a private registry space to their workspace.

A request names the space as typed (a platform registry and a space name), never as a row the
member picked: only spaces the workspace can already use are listed to members, so asking by
name is the one way to ask for a private space without Wharf telling anyone which private
spaces exist. The request is recorded whether or not the name matches; only Admins are told
whether it does (see README, "Access requests").
"""

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from registries.models import RegistrySpace

space_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{0,254}$",
    _("A registry space name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit."),
)


class AccessRequestQuerySet(models.QuerySet):
    def pending(self) -> Self:
        return self.filter(status=AccessRequest.Status.PENDING)

    def visible_to(self, user):
        """All requests for an Admin; for anyone else, those of the workspaces where they may
        ask for spaces (their own workspaces' requests, by whichever member asked)."""
        from portal.permissions import can, is_admin, workspace_roles

        if is_admin(user):
            return self
        workspace_ids = [pk for pk in workspace_roles(user) if can(user, "request_spaces", pk)]
        return self.filter(workspace_id__in=workspace_ids)


class AccessRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        # The workspace got the space another way (bound, or it became public) meanwhile.
        CLOSED = "closed", _("Closed")

    workspace = models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.CASCADE,
        related_name="access_requests",
        verbose_name=_("workspace"),
    )
    registry = models.ForeignKey(
        "registries.Registry",
        on_delete=models.CASCADE,
        related_name="access_requests",
        verbose_name=_("registry"),
    )
    space_name = models.CharField(_("registry space"), max_length=255, validators=[space_name_validator])
    reason = models.TextField(_("reason"), max_length=2000)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # A second request for the same space and workspace while this one is pending merges into
    # it: its reason is appended and this counts the requests.
    times_requested = models.PositiveIntegerField(_("times requested"), default=1)
    created = models.DateTimeField(_("requested"), auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided = models.DateTimeField(_("decided"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    # The end of the binding an approval made (null: none, or not approved).
    expires = models.DateTimeField(_("binding ends"), null=True, blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "registry", "space_name"],
                condition=models.Q(status="pending"),
                name="one_pending_access_request_per_space_and_workspace",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "approved", "declined", "closed"]),
                name="access_request_status_known",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created"], name="access_request_status_created")]

    def __str__(self):
        # Also the audit label, stored once and read in every language: so no English words.
        return f"{self.registry.name}/{self.space_name} → {self.workspace.name}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def matching_space(self) -> "RegistrySpace | None":
        """The space this request names, if Wharf knows it (for Admins' eyes only)."""
        from registries.models import RegistrySpace

        return RegistrySpace.objects.filter(
            registry_id=self.registry_id, name=self.space_name, missing=False
        ).first()
