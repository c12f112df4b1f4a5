"""Django's own strings that its zh-Hans catalog does not translate yet, shown on Wharf's pages.

Listed here so that ``make messages`` keeps them in Wharf's catalog, which Django reads before
its own (LOCALE_PATHS): they appear in Chinese like the rest of the page.
"""

from django.utils.translation import gettext_noop

DJANGO_STRINGS = [
    gettext_noop("- Select an option -"),  # django.db.models.fields.BLANK_CHOICE_LABEL (6.1)
    gettext_noop("Filter by %(field_name)s"),  # admin/date_hierarchy.html
    gettext_noop(  # django.contrib.auth.forms.SetUnusablePasswordMixin
        "Whether the user will be able to authenticate using a password or not. "
        "If disabled, they may still be able to authenticate using other backends, "
        "such as Single Sign-On or LDAP."
    ),
    gettext_noop("Task Result"),  # django_tasks_db, in Django admin
    gettext_noop("Task Results"),
]
