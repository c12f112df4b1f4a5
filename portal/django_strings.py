"""Django's own strings that its zh-Hans catalog does not translate yet, shown on Wharf's pages.

Listed here so that ``make messages`` keeps them in Wharf's catalog, which Django reads before
its own (LOCALE_PATHS): they appear in Chinese like the rest of the page.
"""

from django.utils.translation import gettext_noop

DJANGO_STRINGS = [
    gettext_noop("- Select an option -"),  # django.db.models.fields.BLANK_CHOICE_LABEL (6.1)
]
