import django_filters
from django.utils.translation import gettext_lazy as _

from workspaces.models import Workspace


class WorkspaceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=100, label=_("Name"))

    class Meta:
        model = Workspace
        fields = ["name"]
