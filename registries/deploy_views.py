"""Create by Image: a namespace, a name and an image in; a Deployment manifest out.

Namespaces offered are those of workspaces where the user may use images (Workspace Admin or
Editor, decided by portal.permissions through access.namespaces_for_user); a platform Admin
also gets namespaces bound to no workspace. Whether the image needs the pull secret is the
access rule's answer (registries.explain.image_is_private).
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.inputs import IdChoiceField, WholeNumberFormField, id_or_none
from portal.permissions import can, is_admin, role_in
from portal.validators import dns_label_validator
from registries import access, imagerefs
from registries.explain import image_is_private, space_refusal
from workspaces import manifests
from workspaces.models import Namespace

MAX_REPLICAS = 1000


class NamespaceChoiceField(IdChoiceField):
    def label_from_instance(self, namespace):
        if namespace.workspace_id:
            return f"{namespace.cluster.name}/{namespace.name} ({namespace.workspace.name})"
        return f"{namespace.cluster.name}/{namespace.name} ({_('no workspace')})"


def clean_image(value: str) -> str:
    try:
        return str(imagerefs.parse(value))
    except imagerefs.ImageRefError as error:
        raise forms.ValidationError(error.message, code="image") from None


class DeployForm(forms.Form):
    namespace = NamespaceChoiceField(
        label=_("Namespace"),
        queryset=Namespace.objects.none(),
        empty_label=_("Select a namespace"),
        error_messages={
            "invalid_choice": _("Choose one of the namespaces listed; you may not deploy to that one.")
        },
    )
    name = forms.CharField(
        label=_("Application name"),
        max_length=63,
        validators=[dns_label_validator],
        help_text=_("A DNS label: at most 63 lowercase letters, digits and hyphens."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    image = forms.CharField(
        label=_("Image"),
        max_length=imagerefs.MAX_REFERENCE_LENGTH,
        help_text=_("host/space/repository:tag, or @sha256:… to pin a digest."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "mono",
                "placeholder": "harbor.example.com/team/app:1.0",
            }
        ),
    )
    replicas = WholeNumberFormField(label=_("Replicas"), min_value=0, max_value=MAX_REPLICAS, initial=1)
    container_port = WholeNumberFormField(label=_("Container port"), min_value=1, max_value=65535, initial=80)
    always_pull = forms.BooleanField(
        label=_("Always pull image"),
        required=False,
        help_text=_("Sets imagePullPolicy: Always, so each start pulls the image again."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["namespace"].queryset = (
            access.namespaces_for_user(user, "use_images")
            .select_related("cluster", "workspace")
            .order_by("cluster__name", "name")
        )

    def clean_image(self):
        return clean_image(self.cleaned_data["image"])


def build(data: dict) -> tuple[str, bool]:
    """The manifest YAML for valid form (or serializer) data, and whether the image is private."""
    namespace = data["namespace"]
    private = image_is_private(data["image"], namespace)
    manifest = manifests.deployment(
        namespace=namespace.name,
        name=data["name"],
        image=data["image"],
        replicas=data["replicas"],
        container_port=data.get("container_port"),
        always_pull=data.get("always_pull", False),
        private=private,
    )
    return manifests.to_yaml(manifest), private


def may_deploy_somewhere(user) -> bool:
    return is_admin(user) or can(user, "use_images")


def _refuse_roles_that_cannot_deploy(request):
    """403 for users who may not use images at all, or may not in the namespace they chose."""
    if not may_deploy_somewhere(request.user):
        raise PermissionDenied
    pk = id_or_none(request.POST.get("namespace"))
    if pk is not None:
        workspace_id = Namespace.objects.filter(pk=pk).values_list("workspace_id", flat=True).first()
        if (
            workspace_id
            and role_in(request.user, workspace_id)
            and not can(request.user, "use_images", workspace_id)
        ):
            raise PermissionDenied


def _page(request, form, *, manifest=None, private=False, status=200):
    refusal = None
    if manifest:
        # A warning, not a refusal: the manifest is still made (the binding may come later).
        refusal = space_refusal(form.cleaned_data["namespace"], form.cleaned_data["image"], user=request.user)
    context = {
        "form": form,
        "manifest": manifest,
        "private": private,
        "refusal": refusal,
        "filename": manifests.filename(form.cleaned_data["name"]) if manifest else None,
        "may_deploy": may_deploy_somewhere(request.user),
    }
    return render(request, "deploy/create_by_image.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def create_by_image(request):
    if request.method == "POST":
        _refuse_roles_that_cannot_deploy(request)
        form = DeployForm(request.POST, user=request.user)
        if form.is_valid():
            manifest, private = build(form.cleaned_data)
            return _page(request, form, manifest=manifest, private=private)
        return _page(request, form)
    if not may_deploy_somewhere(request.user):
        return _page(request, DeployForm(user=request.user), status=403)
    initial = {}
    namespace = id_or_none(request.GET.get("namespace"))
    if namespace is not None:
        initial["namespace"] = namespace
    if request.GET.get("image"):
        initial["image"] = request.GET["image"][: imagerefs.MAX_REFERENCE_LENGTH]
    return _page(request, DeployForm(user=request.user, initial=initial))


@login_required
@require_POST
def download_manifest(request):
    """The same form, answered with the manifest as a file ``<app>.yaml``."""
    _refuse_roles_that_cannot_deploy(request)
    form = DeployForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, form)
    manifest, _private = build(form.cleaned_data)
    response = HttpResponse(manifest, content_type="application/yaml; charset=utf-8")
    filename = manifests.filename(form.cleaned_data["name"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
