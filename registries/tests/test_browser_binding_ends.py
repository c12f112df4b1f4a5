"""In Chromium: an end day beside a chosen workspace in the Bind/unbind dialog, and the
Workspace column showing it once OK is pressed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from registries.models import SpaceBinding
from registries.tests.test_browser_bind import SpacePage, admin_user, demo_registry, walk_to_space_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["admin_user", "demo_registry"]  # fixtures used by name


def test_admin_binds_a_workspace_until_a_day_and_the_row_shows_it(page, log_in, admin_user, demo_registry):
    registry, space = demo_registry
    log_in(admin_user)
    walk_to_space_page(page, registry)
    spaces = SpacePage(page, space)
    spaces.open_bind_dialog()
    spaces.search_and_check("pay", "payments")
    day = timezone.localdate() + timedelta(days=3)
    spaces.dialog.get_by_label("Binding of payments ends on (optional)").fill(day.isoformat())
    spaces.ok_and_expect_toast()

    binding = SpaceBinding.objects.get(space=space, workspace__name="payments")
    assert timezone.localdate(binding.expires) == day
    expect(spaces.cell).to_contain_text(f"ends {day.isoformat()} 00:00")
    # Opened again, the dialog shows the day.
    spaces.open_bind_dialog()
    expect(spaces.dialog.get_by_label("Binding of payments ends on (optional)")).to_have_value(
        day.isoformat()
    )
