from __future__ import annotations

import datetime
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal import crypto
from portal.validators import dns_label_condition, dns_label_validator
from registries import kinds
from registries.clients import Connection, Deadline

if TYPE_CHECKING:
    from workspaces.models import Workspace


def validate_ca_bundle(pem: str) -> None:
    pem = pem.strip()
    if not pem:
        return
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValidationError(_("Paste one or more PEM certificates (-----BEGIN CERTIFICATE-----)."))
    try:
        ssl.create_default_context().load_verify_locations(cadata=pem)
    except ssl.SSLError:
        raise ValidationError(_("This CA bundle is not a valid PEM certificate.")) from None


def new_token_service_id() -> str:
    """A ``service`` for a registry's auth.token: random, so never one another registry had."""
    return f"wharf-{uuid.uuid4().hex}"


http_url_validator = URLValidator(
    schemes=["http", "https"], message=_("Enter an http:// or https:// address.")
)


def validate_no_userinfo(url: str) -> None:
    """``user:password@host`` would put the password into image references, the API and the
    audit log; a registry's URL never needs an ``@`` anywhere else either."""
    if "@" in url:
        raise ValidationError(
            _(
                "A registry address may not contain a user name or password (user:password@): "
                "enter them in the Username and Password fields."
            ),
            code="userinfo",
        )


class RegistryQuerySet(models.QuerySet["Registry"]):
    def platform(self) -> RegistryQuerySet:
        return self.filter(scope=Registry.Scope.PLATFORM)

    def of_workspace(self, workspace: Workspace) -> RegistryQuerySet:
        return self.filter(scope=Registry.Scope.WORKSPACE, workspace=workspace)

    def recount_spaces(self) -> int:
        """Set ``space_count`` of these registries from their spaces, counted now.

        For what writes spaces in bulk: the sync (under the registry's row lock, at its end),
        the demo seed, the benchmarks' loaders and the migration that added the column. One
        space at a time goes through ``Registry.spaces_changed``.
        """
        counts = (
            RegistrySpace.objects.filter(registry=models.OuterRef("pk"))
            .order_by()
            .values("registry")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return self.update(space_count=Coalesce(models.Subquery(counts), 0))


class Registry(models.Model):
    class Scope(models.TextChoices):
        PLATFORM = "platform", _("Integrated Registry (Admin)")
        WORKSPACE = "workspace", _("Integrated Registry (Workspace)")

    class Status(models.TextChoices):
        HEALTHY = "healthy", _("Healthy")
        UNHEALTHY = "unhealthy", _("Unhealthy")

    name = models.CharField(
        _("name"),
        max_length=63,
        unique=True,
        validators=[dns_label_validator],
        error_messages={"unique": _("A registry with this name already exists.")},
    )
    # One choice per plug-in in registries.kinds.KINDS; what a kind can do is asked of kind_plugin.
    kind = models.CharField(_("kind"), max_length=16, choices=kinds.choices())
    url = models.CharField(_("URL"), max_length=500, validators=[http_url_validator, validate_no_userinfo])
    username = models.CharField(_("username"), max_length=255, blank=True)
    # Write-only: set through set_password(), never rendered.
    password_encrypted = models.TextField(blank=True, editable=False, verbose_name=_("password encrypted"))
    verify_tls = models.BooleanField(_("verify TLS certificates"), default=True)
    ca_bundle = models.TextField(_("CA bundle (PEM)"), blank=True, validators=[validate_ca_bundle])
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.PLATFORM)
    workspace = models.ForeignKey(
        "workspaces.Workspace",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registries",
        verbose_name=_("workspace"),
    )
    # Docker Registry configured with Wharf as its token server (auth.token): Wharf then
    # decides every pull and push, and the spaces' visibility is enforced. Platform registries
    # only: whoever enables it decides who pulls what at that registry.
    token_service = models.BooleanField(
        _("uses Wharf's token service"),
        default=False,
        help_text=_("The registry's auth.token points at Wharf, so Wharf grants every pull and push."),
    )
    # The `service` the registry's auth.token names, and the `aud` of its tokens. Never the
    # editable name: a name can be taken again after a rename or removal, this id cannot (it is
    # random, set once, and not editable anywhere), so a registry that trusts it keeps trusting
    # only this row. Rows from before it existed kept their name as id (migration 0006).
    token_service_id = models.CharField(
        _("token service id"),
        max_length=64,
        unique=True,
        default=new_token_service_id,
        editable=False,
        help_text=_("The service name the registry's auth.token configuration uses; set by Wharf."),
    )
    is_demo = models.BooleanField(
        _("demo"),
        default=False,
        help_text=_("Demo data: shown in the portal but never contacted."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.HEALTHY)
    status_message = models.TextField(_("status message"), blank=True)
    status_changed = models.DateTimeField(null=True, blank=True, verbose_name=_("status changed"))
    last_sync = models.DateTimeField(_("last sync"), null=True, blank=True)
    last_sync_error = models.TextField(_("last sync error"), blank=True)
    # Bytes of storage the registry reports for itself, read at sync time so that showing the
    # Overview never calls the registry; None when the registry does not report it.
    storage_used = models.BigIntegerField(_("storage used"), null=True, blank=True)
    # How many spaces the registry has, kept here rather than counted on each view: counting
    # reads every space of the registry (14,000 index entries in bench/pages_bench.py, ~2 ms a
    # registry), so the registry list grew with the data. It is counted again where spaces
    # are created or deleted: registries.services (``spaces_changed``) and the sync, at its
    # end (``recount_spaces``). Never written by ``save()`` (see there).
    space_count = models.PositiveIntegerField(_("spaces"), default=0, editable=False)
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    objects = RegistryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("registry")
        verbose_name_plural = _("registries")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(scope="platform", workspace__isnull=True)
                    | models.Q(scope="workspace", workspace__isnull=False)
                ),
                name="registry_scope_matches_workspace",
                violation_error_message=_(
                    "A workspace registry needs its workspace; a platform registry has none."
                ),
            ),
            models.CheckConstraint(condition=dns_label_condition("name"), name="registry_name_dns_label"),
            models.CheckConstraint(
                condition=models.Q(url__startswith="http://") | models.Q(url__startswith="https://"),
                name="registry_url_http",
            ),
            models.CheckConstraint(
                condition=~models.Q(url__contains="@"),
                name="registry_url_no_userinfo",
                violation_error_message=_("A registry address may not contain a user name or password."),
            ),
            models.CheckConstraint(
                condition=models.Q(token_service=False) | models.Q(scope="platform", kind="distribution"),
                name="registry_token_service_platform_distribution",
                violation_error_message=_(
                    "Only an Admin's Docker Registry (Integrated Registry (Admin)) can use Wharf's "
                    "token service."
                ),
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args: Any, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
        # An instance read before a space was added holds an old ``space_count``: saving it
        # whole (the edit form, the admin) must not write that back over the stored count.
        # As Django does for an instance read with only(), fields not loaded are left as stored.
        if update_fields is None and not self._state.adding:
            deferred = self.get_deferred_fields()
            update_fields = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "space_count" and field.attname not in deferred
            ]
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def kind_plugin(self) -> kinds.RegistryKind:
        """What this registry's kind can do (registries/kinds/)."""
        return kinds.kind_of(self.kind)

    @property
    def kind_notices(self) -> dict[str, str]:
        """The kind's notices for this registry, by page (RegistryKind.notices)."""
        return self.kind_plugin.notices(self)

    @staticmethod
    def kinds_supporting(capability: str) -> list[str]:
        """For filters: ``kind__in=Registry.kinds_supporting("token_service")``."""
        return kinds.supporting(capability)

    def token_service_problem(self) -> str | None:
        """Why this registry may not use Wharf's token service, or None."""
        if self.token_service and not self.kind_plugin.token_service:
            return _("Only a Docker Registry can use Wharf's token service.")
        if self.token_service and self.scope != self.Scope.PLATFORM:
            return _(
                "Only platform Admins can turn on Wharf's token service, for an Integrated "
                "Registry (Admin); a workspace registry cannot use it."
            )
        return None

    @property
    def uses_token_service(self) -> bool:
        return self.token_service and self.kind_plugin.token_service and self.scope == self.Scope.PLATFORM

    def spaces_changed(self) -> None:
        """Spaces of this registry were created or deleted in the current transaction: count
        them again into ``space_count`` (and on this instance).

        Counting (rather than adding one) keeps the figure right even after writes that did
        not come through here. The row lock first, in a statement of its own: a second
        change waits for the first to commit, and its count, a new statement, then sees the
        first's space. ``no_key``: a sync in progress (whose new spaces hold a key share lock
        on the row) does not block it; the sync counts again at its end.
        """
        # A transaction of its own when the caller has none (a script, a test's factory): the
        # lock needs one; inside the services' it is a savepoint.
        with transaction.atomic():
            Registry.objects.select_for_update(no_key=True).filter(pk=self.pk).values_list("pk").first()
            Registry.objects.filter(pk=self.pk).recount_spaces()
            self.space_count = Registry.objects.values_list("space_count", flat=True).get(pk=self.pk)

    def set_password(self, raw: str) -> None:
        self.password_encrypted = crypto.encrypt(raw)

    def get_password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    @property
    def host(self) -> str:
        """The host[:port] an image reference starts with."""
        return self.kind_plugin.image_host(self.url)

    @property
    def is_healthy(self) -> bool:
        return self.status == self.Status.HEALTHY

    def connection(self, *, deadline: Deadline | None = None, background: bool = False) -> Connection:
        """How clients reach this registry, under the rules of registries.outbound.

        Work done while a person waits shares one ``deadline`` (started now when not given);
        ``background`` work (tasks) has none.
        """
        from registries import outbound

        if background:
            deadline = None
        elif deadline is None:
            deadline = outbound.request_deadline()
        return Connection(
            url=self.url,
            username=self.username,
            password=self.get_password(),
            verify_tls=self.verify_tls,
            ca_pem=self.ca_bundle,
            timeout=float(settings.WHARF_REGISTRY_TIMEOUT),
            address_policy=outbound.address_policy(self.scope),
            deadline=deadline,
        )


class RegistrySpace(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        PRIVATE = "private", _("Private")

    registry = models.ForeignKey(
        Registry, on_delete=models.CASCADE, related_name="spaces", verbose_name=_("registry")
    )
    name = models.CharField(_("name"), max_length=255)
    visibility = models.CharField(
        _("type"), max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    upstream_id = models.CharField(_("upstream id"), max_length=64, blank=True)
    # Seen missing in a complete listing: kept (with its bindings) until an Admin removes it.
    missing = models.BooleanField(_("missing upstream"), default=False)
    repository_count = models.PositiveIntegerField(_("images"), default=0)
    upstream_created = models.DateTimeField(_("created"), null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated = models.DateTimeField(auto_now=True, verbose_name=_("updated"))
    workspaces = models.ManyToManyField(
        "workspaces.Workspace",
        through="SpaceBinding",
        related_name="bound_spaces",
    )

    class Meta:
        ordering = ["registry__name", "name"]
        verbose_name = _("registry space")
        verbose_name_plural = _("registry spaces")
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "name"],
                name="space_unique_in_registry",
                violation_error_message=_("This registry already has a space of that name."),
            ),
            models.CheckConstraint(
                condition=models.Q(visibility__in=["public", "private"]),
                name="space_visibility_known",
            ),
        ]

    def __str__(self):
        return f"{self.registry.name}/{self.name}"

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC

    @property
    def soonest_binding_end(self) -> datetime.datetime | None:
        """The soonest end among the bound workspaces a page read (``bound``, see
        ``SpaceBindingQuerySet.bound_by_space``), or None."""
        ends = [workspace.binding_ends for workspace in getattr(self, "bound", ()) if workspace.binding_ends]
        return min(ends) if ends else None


@dataclass(frozen=True, slots=True)
class BoundWorkspace:
    """A workspace bound to a space, as a long table shows it: its id, name and the end of the
    binding (None: no end)."""

    pk: int
    name: str
    binding_ends: datetime.datetime | None


class SpaceBindingQuerySet(models.QuerySet["SpaceBinding"]):
    def in_registry(self, registry: Registry) -> SpaceBindingQuerySet:
        return self.filter(space__registry=registry)

    def bound_by_space(self, space_ids) -> dict[int, list[BoundWorkspace]]:
        """{space id: its bound workspaces by name} for a page of spaces, as plain rows: building
        a binding and a workspace model for each (a prefetch) cost the Registry space page more
        than the rest of its rows (bench/space_row_profile.py).

        Two index lookups, the page's bindings and then their workspaces' names: joined in one
        query, PostgreSQL hashed every workspace of the platform for a page's few dozen
        (bench/pages_bench.py: 1.3-2 ms at 5,000 workspaces, growing with them).
        """
        workspaces = self.model._meta.get_field("workspace").related_model
        bindings = list(
            self.filter(space_id__in=space_ids).order_by().values_list("space_id", "workspace_id", "expires")
        )
        names = dict(
            workspaces._default_manager.filter(pk__in={workspace_id for _, workspace_id, _ in bindings})
            .order_by()
            .values_list("pk", "name")
        )
        bound: dict[int, list[BoundWorkspace]] = {}
        for space_id, workspace_id, expires in sorted(bindings, key=lambda row: names[row[1]]):
            bound.setdefault(space_id, []).append(BoundWorkspace(workspace_id, names[workspace_id], expires))
        return bound


class SpaceBinding(models.Model):
    space = models.ForeignKey(
        RegistrySpace, on_delete=models.CASCADE, related_name="bindings", verbose_name=_("space")
    )
    # PROTECT: deleting a workspace that still has bindings is refused, not silently unbound.
    workspace = models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.PROTECT,
        related_name="space_bindings",
        verbose_name=_("workspace"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    # When the binding ends: ``manage.py expire_bindings`` (every minute) unbinds it then,
    # through the same service as the dialog. Null: it lasts until someone unbinds it.
    expires = models.DateTimeField(_("ends"), null=True, blank=True, db_index=True)

    objects = SpaceBindingQuerySet.as_manager()

    class Meta:
        ordering = ["space", "workspace__name"]
        verbose_name = _("space binding")
        verbose_name_plural = _("space bindings")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "workspace"],
                name="binding_unique_pair",
                violation_error_message=_("This space is already bound to that workspace."),
            ),
        ]

    def __str__(self):
        return f"{self.space} -> {self.workspace}"


class RepositoryQuerySet(models.QuerySet["Repository"]):
    def in_registry(self, registry: Registry) -> RepositoryQuerySet:
        return self.filter(space__registry=registry)


class Repository(models.Model):
    space = models.ForeignKey(
        RegistrySpace, on_delete=models.CASCADE, related_name="repositories", verbose_name=_("space")
    )
    # The full path inside the registry, space included: "team-a/tools/cli".
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    tag_count = models.PositiveIntegerField(_("tags"), default=0)
    pull_count = models.PositiveBigIntegerField(_("pulls"), default=0)
    upstream_created = models.DateTimeField(_("created"), null=True, blank=True)
    last_push = models.DateTimeField(_("last push"), null=True, blank=True)
    synced = models.DateTimeField(null=True, blank=True, verbose_name=_("synced"))

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("repository")
        verbose_name_plural = _("repositories")
        constraints = [
            models.UniqueConstraint(fields=["space", "name"], name="repository_unique_in_space"),
        ]
        indexes = [
            # Images and Choose Image list repositories by name: walking this index in order
            # finds a page's ids without sorting every repository a workspace may see, nor
            # reading the table (the space, which decides visibility, is in the index).
            # Searches by name use a trigram index on PostgreSQL (migration 0005).
            models.Index(fields=["name", "id", "space"], name="repository_name_order"),
        ]

    def __str__(self):
        return self.name

    @property
    def short_name(self) -> str:
        """The name below the space ("tools/cli" for "team-a/tools/cli")."""
        prefix = self.space.name + "/"
        return self.name[len(prefix) :] if self.name.startswith(prefix) else self.name


class Tag(models.Model):
    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="tags", verbose_name=_("repository")
    )
    name = models.CharField(_("tag"), max_length=128)
    digest = models.CharField(_("digest"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"), null=True, blank=True)
    pushed = models.DateTimeField(_("push time"), null=True, blank=True)
    platforms = models.JSONField(_("platforms"), default=list, blank=True)

    class Meta:
        ordering = ["-pushed", "name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="tag_unique_in_repository"),
        ]
        indexes = [
            # A repository's tags newest first, as every tag list shows them, without a sort.
            models.Index(fields=["repository", "-pushed", "name", "id"], name="tag_newest_first"),
        ]

    def __str__(self):
        return f"{self.repository.name}:{self.name}"


class SyncRun(models.Model):
    class Result(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    registry = models.ForeignKey(
        Registry, on_delete=models.CASCADE, related_name="sync_runs", verbose_name=_("registry")
    )
    result = models.CharField(
        max_length=16, choices=Result.choices, default=Result.RUNNING, verbose_name=_("result")
    )
    started = models.DateTimeField(auto_now_add=True, verbose_name=_("started"))
    finished = models.DateTimeField(null=True, blank=True, verbose_name=_("finished"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    spaces = models.PositiveIntegerField(default=0, verbose_name=_("spaces"))
    repositories = models.PositiveIntegerField(default=0, verbose_name=_("repositories"))
    tags = models.PositiveIntegerField(default=0, verbose_name=_("tags"))
    requests = models.PositiveIntegerField(default=0, verbose_name=_("requests"))

    class Meta:
        ordering = ["-started", "-id"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")

    def __str__(self):
        return gettext("%(registry)s sync %(started)s: %(result)s") % {
            "registry": self.registry,
            "started": f"{self.started:%Y-%m-%d %H:%M}",
            "result": self.get_result_display(),
        }

    @property
    def duration(self):
        return (self.finished - self.started) if self.finished else None


class PullCredential(models.Model):
    """One pull-only credential per (workspace, registry) it may pull from.

    Token-service registries: Wharf mints it (``ws-<workspace>``) and checks it itself.
    Harbor: a system-level robot account created through Harbor's API, with pull on exactly
    the private spaces bound to the workspace. The secret is kept encrypted (pull secrets
    need it) and hashed (the token service checks it on every pull without decrypting).

    A rotation keeps the previous secret working until ``previous_valid_until`` (the overlap
    window), so namespaces can fetch the new secret before the old one stops. Only its hash
    is kept, and for Harbor the previous robot's id (a robot has one secret, so the overlap is
    a second robot, deleted when the window ends).
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    workspace = models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.CASCADE,
        related_name="pull_credentials",
        verbose_name=_("workspace"),
    )
    registry = models.ForeignKey(
        Registry, on_delete=models.CASCADE, related_name="pull_credentials", verbose_name=_("registry")
    )
    username = models.CharField(_("username"), max_length=255, blank=True)
    secret_encrypted = models.TextField(blank=True, editable=False, verbose_name=_("secret encrypted"))
    secret_hash = models.CharField(
        max_length=64, blank=True, editable=False, db_index=True, verbose_name=_("secret hash")
    )
    # Harbor's robot id, and the space names the registry was last told to allow.
    upstream_id = models.CharField(max_length=64, blank=True, verbose_name=_("upstream id"))
    granted = models.JSONField(default=list, blank=True, verbose_name=_("granted"))
    state = models.CharField(_("propagation"), max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    reconciled = models.DateTimeField(null=True, blank=True, verbose_name=_("reconciled"))
    rotated = models.DateTimeField(_("last rotated"), null=True, blank=True)
    previous_username = models.CharField(
        max_length=255, blank=True, editable=False, verbose_name=_("previous username")
    )
    previous_upstream_id = models.CharField(
        max_length=64, blank=True, editable=False, verbose_name=_("previous upstream id")
    )
    previous_secret_hash = models.CharField(
        max_length=64, blank=True, editable=False, db_index=True, verbose_name=_("previous secret hash")
    )
    previous_valid_until = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        ordering = ["workspace__name", "registry__name"]
        verbose_name = _("pull credential")
        verbose_name_plural = _("pull credentials")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "registry"], name="one_pull_credential_per_pair"),
        ]

    def __str__(self):
        return f"{self.workspace} @ {self.registry}: {self.username or gettext('(not created)')}"

    def set_secret(self, raw: str) -> None:
        import hashlib

        self.secret_encrypted = crypto.encrypt(raw)
        self.secret_hash = hashlib.sha256(raw.encode()).hexdigest()

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def previous_valid(self, now=None) -> bool:
        """Whether the secret before the last rotation still works (inside the overlap window)."""
        return bool(self.previous_valid_until and self.previous_valid_until > (now or timezone.now()))

    def clear_previous(self) -> None:
        self.previous_username = self.previous_upstream_id = self.previous_secret_hash = ""
        self.previous_valid_until = None


class TokenSigningKey(models.Model):
    """A token service signing key (ES256) and the certificate registries trust.

    Each Admin registry integrated as a Docker Registry gets its own key, and its bundle holds
    only its own certificates: a token signed for one registry is refused by every other, even
    with the right audience. Keys without a registry are the shared key of registries integrated
    before that, which trust the shared bundle. The newest active key signs; retired keys stay
    in the downloadable bundle until their certificates are removed, so a rotation never breaks
    registries mid-way.
    """

    registry = models.ForeignKey(
        Registry,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="signing_keys",
        verbose_name=_("registry"),
    )
    private_key_encrypted = models.TextField(editable=False, verbose_name=_("private key encrypted"))
    certificate_pem = models.TextField(verbose_name=_("certificate pem"))
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    retired = models.DateTimeField(null=True, blank=True, verbose_name=_("retired"))

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("token signing key")
        verbose_name_plural = _("token signing keys")

    def __str__(self):
        if self.retired:
            return gettext("signing key %(pk)s (retired)") % {"pk": self.pk}
        return gettext("signing key %(pk)s (active)") % {"pk": self.pk}


class LoginCredential(models.Model):
    """A temporary registry login of one user ("Generate login command"): shown once, then
    only its username and expiry are known.

    Token-service registries: Wharf checks it itself (by the secret's SHA-256, as workspace
    credentials), and grants what the user's role allows at the moment of each token request.
    Harbor: a robot account (``upstream_id``) with pull on what the user may see and push where
    they may push, as of its creation (``granted``); Wharf deletes it when it expires or is
    revoked. A revoked row whose robot could not be deleted yet stays (``revoked`` set) for the
    sweep to finish.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_credentials"
    )
    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="login_credentials")
    username = models.CharField(_("username"), max_length=255, blank=True, db_index=True)
    secret_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    upstream_id = models.CharField(max_length=64, blank=True, editable=False)
    granted = models.JSONField(default=dict, blank=True, editable=False)
    expires = models.DateTimeField(_("expires"), db_index=True)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("login credential")
        verbose_name_plural = _("login credentials")

    def __str__(self):
        return f"{self.username or '(being created)'} @ {self.registry}"

    def is_active(self, now=None) -> bool:
        return self.revoked is None and self.expires > (now or timezone.now()) and bool(self.username)
