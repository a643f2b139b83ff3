"""The coupons' migrations that turned strings into typed references: what the strings
said, the columns say (and, going back, the strings say again)."""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.core.models import Event
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory


@pytest.fixture
def migrated_back():
    """Go back to just before the migration whose name ends so; and to the latest after."""
    executor = MigrationExecutor(connection)

    def before(name):
        (target,) = [key for key in executor.loader.graph.nodes if key[1].endswith(name)]
        parents = [
            parent.key
            for parent in executor.loader.graph.node_map[target].parents
            if parent.key[0] == "coupons"
        ]
        executor.migrate(parents)
        return target, parents, executor.loader.project_state(parents).apps

    yield before
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_order_strings_become_order_ids_and_a_tills_sale_its_receipt(migrated_back):
    target, _parents, old_apps = migrated_back("coupon_order_id")
    Old = old_apps.get_model("coupons", "Coupon")
    template, member, store, now = (
        CouponTemplateFactory(),
        MemberFactory(),
        StoreFactory(),
        timezone.now(),
    )

    slots = iter(range(1, 7))

    def old(code, status, **fields):
        Old.objects.create(
            template_id=template.pk,
            member_id=member.pk,
            code=code,
            source="claim",
            source_key=f"claim:{template.pk}:{member.pk}:{next(slots)}",
            status=status,
            valid_from=now,
            valid_until=now,
            **fields,
        )

    used = {"used_at": now, "used_store_id": store.pk}
    old("PAID", "used", locked_for="order:12", used_for="order:12", **used)
    old("SALE", "used", used_for="order:13", **used)
    old("TILL", "used", used_for="S1-0001", **used)
    old("COUNTER", "used", used_for="counter", **used)
    old("HELD", "locked", locked_for="order:14")
    old("FREE", "available")

    MigrationExecutor(connection).migrate([target])

    Coupon = (
        MigrationExecutor(connection)
        .loader.project_state([target])
        .apps.get_model("coupons", "Coupon")
    )
    assert {c.code: (c.status, c.order_id, c.receipt) for c in Coupon.objects.all()} == {
        "PAID": ("used", 12, ""),
        "SALE": ("used", 13, ""),
        "TILL": ("used", None, "S1-0001"),
        "COUNTER": ("used", None, ""),
        "HELD": ("locked", 14, ""),
        "FREE": ("available", None, ""),
    }


HANDLERS_KEYS = ("claim", "exchange", "batch", "join", "referral", "tier", "birthday", "gift")


@pytest.mark.django_db(transaction=True)
def test_source_keys_become_typed_references_and_back(migrated_back):
    target, parents, old_apps = migrated_back("0004_coupon_references")
    Old = old_apps.get_model("coupons", "Coupon")
    template, store, now = CouponTemplateFactory(), StoreFactory(), timezone.now()
    holder, merged, friend = MemberFactory(), MemberFactory(), MemberFactory()
    batch = old_apps.get_model("coupons", "IssueBatch").objects.create(
        name="b", template_id=template.pk, phones="13800000000"
    )
    event = Event.objects.create(name="tier_changed", next_attempt_at=now)
    t = template.pk
    keys = {
        # what each source wrote; the merged member's claim now sits in the holder's wallet
        "claim": ("claim", f"claim:{t}:{merged.pk}:2"),
        "exchange": ("exchange", f"claim:{t}:{holder.pk}:1"),
        "batch": ("batch", f"batch:{batch.pk}:{holder.pk}"),
        "join": ("event", f"event:join:{t}:{holder.pk}"),
        "referral": ("event", f"event:referral:{t}:{friend.pk}"),
        "tier": ("event", f"event:tier:{t}:{event.pk}"),
        "birthday": ("event", f"event:birthday:2026:{t}:{holder.pk}"),
        "gift": ("store_gift", f"gift:{store.pk}:form:key-1"),
        "demo": ("event", "event:demo:join-gift"),
    }
    for code, (source, key) in keys.items():
        Old.objects.create(
            template_id=template.pk,
            member_id=holder.pk,
            code=code,
            source=source,
            source_key=key,
            store_id=store.pk if source == "store_gift" else None,
            valid_from=now,
            valid_until=now,
        )

    MigrationExecutor(connection).migrate([target])

    Coupon = (
        MigrationExecutor(connection)
        .loader.project_state([target])
        .apps.get_model("coupons", "Coupon")
    )
    columns = ["issued_to", "claim_slot", "batch", "cause_kind", "cause_id", "idempotency_key"]
    demo = Coupon.objects.get(code="demo").pk
    assert {code: tuple(row) for code, *row in Coupon.objects.values_list("code", *columns)} == {
        "claim": (merged.pk, 2, None, "", None, None),
        "exchange": (holder.pk, 1, None, "", None, None),
        "batch": (holder.pk, None, batch.pk, "", None, None),
        "join": (holder.pk, None, None, "join", holder.pk, None),
        "referral": (holder.pk, None, None, "referral", friend.pk, None),
        "tier": (holder.pk, None, None, "tier_upgrade", event.pk, None),
        "birthday": (holder.pk, None, None, "birthday", 2026, None),
        "gift": (holder.pk, None, None, "", None, "form:key-1"),
        "demo": (holder.pk, None, None, "demo", demo, None),
    }

    executor = MigrationExecutor(connection)
    executor.migrate(parents)

    Old = executor.loader.project_state(parents).apps.get_model("coupons", "Coupon")
    back = dict(Old.objects.values_list("code", "source_key"))
    assert {code: back[code] for code in HANDLERS_KEYS} == {
        code: keys[code][1] for code in HANDLERS_KEYS
    }
    assert back["demo"] == f"event:demo:{t}:{holder.pk}:{demo}"


@pytest.mark.django_db(transaction=True)
def test_a_counters_scope_becomes_its_day_or_its_store_and_back(migrated_back):
    target, parents, old_apps = migrated_back("template_counter_day_and_store")
    Old = old_apps.get_model("coupons", "TemplateCounter")
    template, store = CouponTemplateFactory(), StoreFactory()
    Old.objects.create(template_id=template.pk, scope="day:2026-11-25", issued=3)
    Old.objects.create(template_id=template.pk, scope=f"store:{store.pk}", issued=2)

    executor = MigrationExecutor(connection)
    executor.migrate([target])

    Counter = executor.loader.project_state([target]).apps.get_model("coupons", "TemplateCounter")
    assert sorted(Counter.objects.values_list("day", "store", "issued"), key=str) == sorted(
        [(date(2026, 11, 25), None, 3), (None, store.pk, 2)], key=str
    )

    executor = MigrationExecutor(connection)
    executor.migrate(parents)

    Old = executor.loader.project_state(parents).apps.get_model("coupons", "TemplateCounter")
    assert dict(Old.objects.values_list("scope", "issued")) == {
        "day:2026-11-25": 3,
        f"store:{store.pk}": 2,
    }


def code_indexes() -> dict[str, bool]:
    """{index name: unique} of the coupons' indexes on their code alone."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "coupons_coupon")
    return {
        name: facts["unique"]
        for name, facts in constraints.items()
        if facts["columns"] == ["code"] and (facts["index"] or facts["unique"])
    }


@pytest.mark.django_db(transaction=True)
def test_the_codes_keep_their_unique_index_and_lose_the_like_one_and_back(migrated_back):
    target, parents, _old_apps = migrated_back("code_unique_without_like_index")
    before = code_indexes()
    assert sorted(before.values()) == [False, True]  # the unique one and the one for LIKE

    executor = MigrationExecutor(connection)
    executor.migrate([target])

    assert code_indexes() == {"coupon_code_unique": True}
    template = CouponTemplateFactory()
    first, second = (coupon_claim(template=template, member=MemberFactory()) for _ in range(2))
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.filter(pk=second.pk).update(code=first.code)

    executor = MigrationExecutor(connection)
    executor.migrate(parents)

    assert sorted(code_indexes().values()) == [False, True]
