from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import DomainError
from apps.stores.selectors import store_get_by_code
from apps.stores.services import pos_key_create


class Command(BaseCommand):
    help = "Make a POS API key for a store and print it. The key is shown only this once."

    def add_arguments(self, parser):
        parser.add_argument("store_code")
        parser.add_argument("--name", default="POS", help="Which till or POS vendor uses the key.")

    def handle(self, *args, store_code, name, **options):
        try:
            store = store_get_by_code(store_code)
        except DomainError as error:
            raise CommandError(error.render()) from error
        key, raw_key = pos_key_create(store=store, name=name, actor="manage.py create_pos_key")
        self.stderr.write(
            f"{store.code} {store.name} · {key.name}: keep this key secret; it is not stored."
        )
        self.stdout.write(raw_key)
