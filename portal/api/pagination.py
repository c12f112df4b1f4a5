"""Page-number paging that refuses page numbers it cannot read, instead of guessing.

DRF's PageNumberPagination reads ``page=`` (empty) as page 1 and a bad ``page_size`` as the
default size; a client with a bug in its paging loop then walks page 1 forever. Here both are
a 400 naming the parameter. A page past the end stays DRF's 404 "Invalid page.".
"""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from portal.inputs import MAX_ID, whole_number


def _positive(request, name: str, maximum: int) -> int | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ValidationError({name: [_("Give this parameter once.")]})
    try:
        number = whole_number(values[0])
    except ValueError:
        raise ValidationError({name: [_("A whole number is required.")]}) from None
    if not 1 <= number <= maximum:
        raise ValidationError({name: [_("Use a number from 1 to %(max)d.") % {"max": maximum}]})
    return number


class StrictPageNumberPagination(PageNumberPagination):
    def get_page_number(self, request, paginator):
        return _positive(request, self.page_query_param, MAX_ID) or 1

    def get_page_size(self, request):
        if self.page_size_query_param:
            size = _positive(request, self.page_size_query_param, self.max_page_size or self.page_size)
            if size is not None:
                return size
        return self.page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1, maximum=MAX_ID)
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size or self.page_size)
        return parameters
