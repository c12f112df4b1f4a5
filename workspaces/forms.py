from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from portal.inputs import IdChoiceField
from portal.validators import dns_label_validator
from workspaces.models import Cluster, Membership, Workspace


class WorkspaceForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Names are referenced by robot accounts, pull secrets and audit history.
            self.fields["name"].disabled = True


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise forms.ValidationError(_("There is no user named %(name)s.") % {"name": username}) from None


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class ClusterForm(forms.ModelForm):
    class Meta:
        model = Cluster
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class NamespaceForm(forms.Form):
    cluster = IdChoiceField(label=_("Cluster"), queryset=Cluster.objects.all())
    name = forms.CharField(label=_("Name"), max_length=63, validators=[dns_label_validator])
    workspace = IdChoiceField(
        label=_("Workspace"), queryset=Workspace.objects.all(), required=False, empty_label=_("Not bound")
    )


class NamespaceBindForm(forms.Form):
    workspace = IdChoiceField(
        label=_("Workspace"), queryset=Workspace.objects.all(), required=False, empty_label=_("Not bound")
    )
