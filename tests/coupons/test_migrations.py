"""The migration that made a coupon's order an id: what the strings said, the ids say."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.coupons.models import Coupon
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory


@pytest.mark.django_db(transaction=True)
def test_order_strings_become_order_ids_and_a_tills_sale_its_receipt():
    executor = MigrationExecutor(connection)
    (target,) = [key for key in executor.loader.graph.nodes if key[1].endswith("coupon_order_id")]
    before = executor.loader.graph.node_map[target].parents
    executor.migrate([parent.key for parent in before])
    Old = executor.loader.project_state([p.key for p in before]).apps.get_model("coupons", "Coupon")
    template, member, store, now = (
        CouponTemplateFactory(),
        MemberFactory(),
        StoreFactory(),
        timezone.now(),
    )

    def old(code, status, **fields):
        Old.objects.create(
            template_id=template.pk,
            member_id=member.pk,
            code=code,
            source="claim",
            source_key=code,
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

    assert {c.code: (c.status, c.order_id, c.receipt) for c in Coupon.objects.all()} == {
        "PAID": ("used", 12, ""),
        "SALE": ("used", 13, ""),
        "TILL": ("used", None, "S1-0001"),
        "COUNTER": ("used", None, ""),
        "HELD": ("locked", 14, ""),
        "FREE": ("available", None, ""),
    }
