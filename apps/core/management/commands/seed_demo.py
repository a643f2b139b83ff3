import importlib
import random

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import module_has_submodule
from faker import Faker

from apps.core.demo import DEMO_PASSWORD, DemoContext


class Command(BaseCommand):
    help = "Load the demo brand (API.md, 'Demo data'). Safe to run again: it never duplicates."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="The same seed, the same data.")
        parser.add_argument("--members", type=int, default=2000, help="How many members to make.")

    def handle(self, *args, seed, members, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError(
                "seed_demo makes the login admin/demo12345 and is refused on this site "
                "(DEMO_DATA_ALLOWED is off, as it is whenever DEBUG is off)."
            )
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        ctx = DemoContext(seed=seed, members=members, rng=random.Random(seed), fake=fake)
        with transaction.atomic():
            for app_config in apps.get_app_configs():
                if app_config.name.startswith("apps.") and module_has_submodule(
                    app_config.module, "demo"
                ):
                    importlib.import_module(f"{app_config.name}.demo").seed(ctx)
        self.stdout.write(self.style.SUCCESS(f"Demo brand loaded (seed {seed})."))
        self.stdout.write(f"Logins, all with password {DEMO_PASSWORD}:")
        for username, role in ctx.logins:
            self.stdout.write(f"  {username:<16} {role}")
        for note in ctx.notes:
            self.stdout.write(note)
