"""The access request list's filters, used by the API and by the page (access_requests/views.py),
so a filter means the same in both. ``q`` is the page's search box, the same as ``space_name``."""

import django_filters
from django.utils.translation import gettext_lazy

from access_requests.models import AccessRequest
from portal.inputs import IdFilter


def _space_name_search():
    return django_filters.CharFilter(
        field_name="space_name",
        lookup_expr="icontains",
        max_length=100,
        label=gettext_lazy("Registry space name contains"),
    )


class AccessRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AccessRequest.Status.choices, label=gettext_lazy("Status"))
    workspace = IdFilter(field_name="workspace_id", label=gettext_lazy("Workspace id"))
    registry = IdFilter(field_name="registry_id", label=gettext_lazy("Registry id"))
    space_name = _space_name_search()
    q = _space_name_search()

    class Meta:
        model = AccessRequest
        fields = ["status", "workspace", "registry", "space_name", "q"]
