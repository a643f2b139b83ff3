"""The embedded default (SQLite, tasks in-process) that `bin/demo` runs: migrations and
seed_demo work there too, running seed_demo again changes nothing, and the rows read and
written by hand (apps.core.rows) come whole: the member a token or a till names, the store
a POS key names, a points entry by its key, the demo sales' real numbers in their ledger."""

import os
import subprocess
import sys

from django.conf import settings


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_data_loads_twice_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DEBUG": "true",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.pop("CELERY_BROKER_URL", None)

    for step in (
        ["migrate", "--noinput"],
        ["seed_demo", "--members", "30"],
        ["seed_demo", "--members", "30"],
        ["verify_ledger"],
        ["verify_commissions"],
    ):
        result = manage(*step, env=env)
        assert result.returncode == 0, (step, result.stderr[-3000:])
    assert "Demo brand loaded" in manage("seed_demo", "--members", "30", env=env).stdout

    # The hand-written lookups (apps.core.rows) turn SQLite's raw values into fields.
    check = manage("shell", "-c", SAME_ROWS_BY_HAND, env=env)
    assert check.stdout.splitlines()[-1] == "same", (check.stdout, check.stderr[-3000:])


SAME_ROWS_BY_HAND = """
from apps.members.credentials import member_token_issue, member_token_member
from apps.members.models import Member
from apps.members.selectors import member_active
from apps.points.models import Entry
from apps.points.selectors import entry_by_cause, entry_by_key
from apps.points.services import points_earn
from apps.orders.models import Order
from apps.stores.models import PosApiKey, Store
from apps.stores.selectors import pos_key_active
from apps.stores.services import pos_key_create

def differ(model, built, stored):
    return [f.name for f in model._meta.concrete_fields
            if getattr(built, f.attname) != getattr(stored, f.attname)]

stored = Member.objects.filter(birthday__isnull=False, consent_at__isnull=False).first()
found = member_token_member(member_token_issue(member=stored))
key, raw_key = pos_key_create(store=Store.objects.first(), name="check")
till = pos_key_active(raw_key)
entry = Entry.objects.filter(cause_kind="order", kind="earn").first()
keyed = Entry.objects.get(pk=points_earn(  # the demo's grants need no key: a form's has one
    member=stored, amount=1, key="form-key", cause_kind="admin", description="d", pending=False
).pk)
unnumbered = ["Order"] if Order.objects.filter(order_no__isnull=True).exists() else []
print(differ(Member, found, stored) + differ(PosApiKey, till, key)
      + differ(Store, till.store, Store.objects.get(pk=key.store_id))
      + differ(Member, member_active(stored.pk), stored)
      + differ(Entry, entry_by_cause(entry.cause_kind, entry.cause_id, entry.kind), entry)
      + differ(Entry, entry_by_key(keyed.idempotency_key), keyed) + unnumbered or "same")
"""
