import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.inputs import IdFilter
from workspaces.models import Cluster, Membership, Namespace, Workspace


class WorkspaceFilter(django_filters.FilterSet):
    """The Workspaces page's search (``q``, the same as ``name``) and the API's filter."""

    name = django_filters.CharFilter(lookup_expr="icontains", max_length=100, label=_("Name"))
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100, label=_("Name"))

    class Meta:
        model = Workspace
        fields = ["name", "q"]


class MembershipFilter(django_filters.FilterSet):
    username = django_filters.CharFilter(
        field_name="user__username", lookup_expr="icontains", max_length=150, label=_("Username")
    )
    role = django_filters.ChoiceFilter(choices=Membership.Role.choices, label=_("Role"))

    class Meta:
        model = Membership
        fields = ["username", "role"]


class ClusterFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=100, label=_("Name"))

    class Meta:
        model = Cluster
        fields = ["name"]


class NamespaceFilter(django_filters.FilterSet):
    """The Namespaces page's search and filters, with the same meaning."""

    q = django_filters.CharFilter(
        method="search", max_length=100, label=_("Namespace or cluster name contains")
    )
    # Plain ids rather than choices: an id outside the user's scope simply matches nothing,
    # instead of a "not a valid choice" that would tell which clusters exist.
    cluster = IdFilter(field_name="cluster_id", label=_("Cluster id"))
    workspace = IdFilter(field_name="workspace_id", label=_("Workspace id"))
    # A choice rather than BooleanFilter, which reads anything but true/false as "no filter".
    bound = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_bound", label=_("Bound to a workspace")
    )

    class Meta:
        model = Namespace
        fields = ["q", "cluster", "workspace", "bound"]

    def filter_bound(self, queryset, name, value):
        return queryset.filter(workspace__isnull=value == "false")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(cluster__name__icontains=value))
