"""``manage.py sweep_login_commands``: end the login commands whose time is up.

A scheduler runs it every few minutes. Expired and revoked login commands are deleted, their
Harbor robots first (a robot Harbor could not delete keeps its row for the next run); with
``--leftovers`` it also deletes this Wharf's login robots that no working login command holds.
Exit status 1 when anything was left.
"""

from django.core.management.base import BaseCommand, CommandError

from portal.crypto import DecryptionError
from registries import login_commands, robots
from registries.clients import RegistryError


class Command(BaseCommand):
    help = "Delete expired and revoked login commands and their Harbor robot accounts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--leftovers",
            action="store_true",
            help="also delete login robots in Harbor that no working login command holds",
        )

    def handle(self, *args, leftovers: bool, **options):
        deleted, left = login_commands.sweep()
        self.stdout.write(f"Login commands: {deleted} deleted, {left} left for the next run.")
        failed = left
        if leftovers:
            for registry in robots.managed_registries().order_by("name"):
                try:
                    names = robots.sweep_leftover_login_robots(registry)
                except (RegistryError, DecryptionError) as error:
                    failed += 1
                    self.stdout.write(self.style.ERROR(f"{registry.name}: leftover login robots: {error}"))
                    continue
                for name in names:
                    self.stdout.write(f"{registry.name}: deleted leftover login robot {name}")
        if failed:
            raise CommandError("Some login commands could not be ended; the next run retries.")
