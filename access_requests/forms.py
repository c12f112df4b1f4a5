from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access_requests.models import AccessRequest, space_name_validator
from portal.permissions import can, workspace_roles
from registries.models import Registry
from registries.services import ServiceError, parse_day, start_of_day
from workspaces.models import Workspace


def requestable_workspaces(user):
    """The workspaces ``user`` may ask spaces for (Workspace Admin or Editor)."""
    ids = [pk for pk in workspace_roles(user) if can(user, "request_spaces", pk)]
    return Workspace.objects.filter(pk__in=ids).order_by("name")


class AccessRequestForm(forms.Form):
    workspace = forms.ModelChoiceField(label=_("For workspace"), queryset=Workspace.objects.none())
    registry = forms.ModelChoiceField(
        label=_("Registry"),
        queryset=Registry.objects.filter(scope=Registry.Scope.PLATFORM).order_by("name"),
        help_text=_(
            "The Integrated Registry (Admin) that holds the space; its host starts the image reference."
        ),
    )
    space_name = forms.CharField(
        label=_("Registry space"),
        max_length=255,
        help_text=_(
            "The first part of the image path after the host: team-a in harbor.example.com/team-a/app:1.0."
        ),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the workspace needs it for; the Admin reads this."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = requestable_workspaces(user)

    def clean_space_name(self):
        name = self.cleaned_data["space_name"].strip().lower()
        space_name_validator(name)
        return name


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the requester"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    ends = forms.CharField(
        label=_("Binding ends on (optional)"),
        required=False,
        max_length=20,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The binding ends when this day begins; empty: no end."),
    )

    def clean_ends(self):
        try:
            day = parse_day(self.cleaned_data["ends"])
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None
        if day is None:
            return None
        expires = start_of_day(day)
        if expires <= timezone.now():
            raise forms.ValidationError(_("The end of a binding must be in the future."))
        return expires


STATUS_CHOICES = [("", _("All")), *AccessRequest.Status.choices]
