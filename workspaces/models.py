from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.roles import ROLE_ADMIN, ROLE_EDITOR, ROLE_VIEWER, Person, is_admin
from portal.validators import dns_label_condition, dns_label_validator


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def of_member(self, user: Person) -> WorkspaceQuerySet:
        """The workspaces ``user`` is a member of (an Admin too: membership, not the Admin role)."""
        return self.filter(memberships__user=user)

    def visible_to(self, user):
        """Admins see every workspace; everyone else the ones they are a member of."""
        if is_admin(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.of_member(user)

    def with_counts(self):
        return self.annotate(
            member_count=models.Count("memberships", distinct=True),
            namespace_count=models.Count("namespaces", distinct=True),
        )


class NamespaceQuerySet(models.QuerySet):
    def visible_to(self, user):
        if is_admin(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(workspace__memberships__user=user)


class Workspace(models.Model):
    name = models.CharField(
        _("name"),
        max_length=63,
        unique=True,
        validators=[dns_label_validator],
        error_messages={"unique": _("A workspace with this name already exists.")},
    )
    description = models.TextField(_("description"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=dns_label_condition("name"), name="workspace_name_dns_label"),
        ]
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = ROLE_ADMIN, _("Workspace Admin")
        EDITOR = ROLE_EDITOR, _("Workspace Editor")
        VIEWER = ROLE_VIEWER, _("Workspace Viewer")

    class Source(models.TextChoices):
        WHARF = "wharf", _("Wharf")
        PROVIDER = "provider", _("Identity provider")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("workspace")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    # Provider-made memberships follow the provider's groups at every sign-in (added, changed,
    # removed); memberships made in Wharf are never touched by a sign-in.
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.WHARF)
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        ordering = ["workspace__name", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "workspace"],
                name="one_membership_per_user_and_workspace",
                violation_error_message=_("This user is already a member of the workspace."),
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[ROLE_ADMIN, ROLE_EDITOR, ROLE_VIEWER]),
                name="membership_role_known",
            ),
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return gettext("%(user)s in %(workspace)s (%(role)s)") % {
            "user": self.user,
            "workspace": self.workspace,
            "role": self.get_role_display(),
        }


class Cluster(models.Model):
    name = models.CharField(
        _("name"),
        max_length=63,
        unique=True,
        validators=[dns_label_validator],
        error_messages={"unique": _("A cluster with this name already exists.")},
    )
    description = models.TextField(_("description"), blank=True)
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=dns_label_condition("name"), name="cluster_name_dns_label"),
        ]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")

    def __str__(self):
        return self.name


class Namespace(models.Model):
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="namespaces", verbose_name=_("cluster")
    )
    name = models.CharField(_("name"), max_length=63, validators=[dns_label_validator])
    # A foreign key, so a namespace belongs to at most one workspace by construction.
    # PROTECT: a workspace that still has namespaces cannot be deleted by accident.
    workspace = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="namespaces",
        verbose_name=_("workspace"),
    )
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    objects = NamespaceQuerySet.as_manager()

    class Meta:
        ordering = ["cluster__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "name"],
                name="namespace_unique_in_cluster",
                violation_error_message=_("This cluster already has a namespace of that name."),
            ),
            models.CheckConstraint(condition=dns_label_condition("name"), name="namespace_name_dns_label"),
        ]
        verbose_name = _("namespace")
        verbose_name_plural = _("namespaces")

    def __str__(self):
        return f"{self.cluster.name}/{self.name}"
