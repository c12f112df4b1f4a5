#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    # A checkout without SECRET_KEY is a developer's machine: run management commands in
    # DEBUG with the dev-only key. Production sets SECRET_KEY, and the WSGI entry point
    # never applies this default, so it still refuses to start without one.
    if "SECRET_KEY" not in os.environ:
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
