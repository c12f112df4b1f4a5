from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.validators import dns_label_validator
from registries import outbound
from registries.addresses import refused_reason
from registries.models import Registry, RegistrySpace


class RegistryForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        help_text=_(
            "JFrog Artifactory: a password, or an access token (with the token's user name "
            "above, or with no user name at all)."
        ),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Registry
        fields = ["kind", "name", "url", "username", "password", "verify_tls", "ca_bundle", "token_service"]
        widgets = {
            "url": forms.TextInput(attrs={"placeholder": "https://harbor.example.com", "inputmode": "url"}),
            "ca_bundle": forms.Textarea(attrs={"rows": 4, "placeholder": "-----BEGIN CERTIFICATE-----"}),
        }
        help_texts = {
            "username": _("JFrog Artifactory: may stay empty when the password field holds an access token."),
            "verify_tls": _("Turn off only for a registry you trust on a network you control."),
            "ca_bundle": _("PEM certificates to trust in addition to the system ones."),
            "token_service": _(
                "Docker Registry only: its auth.token points at Wharf (see the snippet on "
                "the registry's page), so Wharf grants every pull and push."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One deadline for everything this request asks of the registry: the address lookup
        # while validating and the connection check on saving.
        self.deadline = outbound.request_deadline()
        if self.instance.pk:
            self.fields["password"].help_text = _("Leave blank to keep the current password.")
            # The kind decides the client and what the spaces mean; changing it is a new registry.
            self.fields["kind"].disabled = True

    def clean_url(self):
        return self.cleaned_data["url"].rstrip("/")

    def save_checked(self, actor, **fields) -> Registry | None:
        """Save through the connection check; when it fails, the form carries the message.

        A blank password keeps the stored one on Edit.
        """
        from registries import services

        registry = self.save(commit=False)
        for name, value in fields.items():
            setattr(registry, name, value)
        try:
            return services.save_registry(
                registry, actor, password=self.cleaned_data["password"] or None, deadline=self.deadline
            )
        except services.ServiceError as error:
            self.add_error(None, error.message)
            return None

    def clean_token_service(self):
        on = self.cleaned_data["token_service"]
        candidate = Registry(kind=self.cleaned_data.get("kind", self.instance.kind), token_service=on)
        if problem := candidate.token_service_problem():
            raise forms.ValidationError(problem)
        return on


class SpaceCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=63,
        validators=[dns_label_validator],
        help_text=_("Lowercase letters, digits and hyphens."),
    )
    visibility = forms.ChoiceField(
        label=_("Type"),
        choices=RegistrySpace.Visibility.choices,
        initial=RegistrySpace.Visibility.PRIVATE,
        widget=forms.RadioSelect,
    )


class WorkspaceRegistryForm(RegistryForm):
    """The same form, for a registry one workspace integrates for itself.

    Without "uses Wharf's token service": whoever turns it on decides who may pull and push at
    that registry, which only platform Admins may decide (see Registry.token_service_problem).
    """

    class Meta(RegistryForm.Meta):
        fields = [name for name in RegistryForm.Meta.fields if name != "token_service"]

    def clean_url(self):
        url = super().clean_url()
        reason = refused_reason(url, settings.WHARF_ALLOWED_REGISTRY_NETWORKS, self.deadline)
        if reason:
            raise forms.ValidationError(reason)
        return url


class ConfirmDeletionForm(forms.Form):
    """The type-the-name confirmation of every deletion of images."""

    confirm = forms.CharField(label=_("Type the name to confirm"), max_length=300, strip=True)
