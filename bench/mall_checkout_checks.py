"""After bench.mall_checkout: queries per order placed and paid (1, 3 and 10 lines), and
correctness (oversell, ledger, coupons used once, orders written or paid once)."""

import json
import os
import sys

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, F, Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from apps.coupons.models import Coupon  # noqa: E402
from apps.mall.models import Reservation, Stock  # noqa: E402
from apps.members.credentials import member_token_issue  # noqa: E402
from apps.orders.models import Order  # noqa: E402
from apps.points.models import Entry  # noqa: E402
from apps.points.verification import ledger_problems  # noqa: E402
from apps.stores.models import Store  # noqa: E402
from apps.tiers.models import GrowthEntry  # noqa: E402
from apps.tiers.selectors import tiers_in_order  # noqa: E402
from apps.tiers.services import growth_earn  # noqa: E402
from bench._load import members_to_sell_to  # noqa: E402
from bench.mall_checkout import STORE  # noqa: E402


def queries_for(lines: list[str], n: int) -> int:
    """The queries of one order placed and paid with these SKUs, by a member at the top
    tier already (no basket lifts them to another: the same work whatever the lines)."""
    store = Store.objects.get(code=STORE)
    [(member, coupon)] = members_to_sell_to(1, store, f"159{n:04d}")
    growth_earn(
        member=member,
        amount=tiers_in_order()[-1].growth_threshold,
        kind=GrowthEntry.Kind.ADJUST,
        cause_kind=GrowthEntry.CauseKind.DEMO,
        cause_id=member.pk,
        description="t",
    )
    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {member_token_issue(member=member)}",
        SERVER_NAME="127.0.0.1",
    )
    body = {
        "store_code": STORE,
        # at least three items, so the coupon's threshold is met with one line too
        "lines": [{"sku": sku, "quantity": 3 if len(lines) == 1 else 1} for sku in lines],
        "coupon_codes": [coupon],
        "points": 500,
        "fulfilment": {"type": "pickup"},
    }
    with CaptureQueriesContext(connection) as captured:
        placed = client.post(
            "/api/v1/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"c{n}"
        )
        assert placed.status_code == 201, placed.content
        paid = client.post(f"/api/v1/orders/{placed.json()['order_no']}/sandbox-pay")
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.content
    assert Coupon.objects.get(code=coupon).status == "used"
    return len(captured)


def oversold() -> int:
    """Stock rows below zero, or whose reserved is not what their reservations hold."""
    held = {
        row["stock_id"]: row["held"]
        for row in Reservation.objects.values("stock_id").annotate(
            held=Sum(F("quantity") - F("released") - F("handed_over"))
        )
    }
    return sum(
        1
        for pk, on_hand, reserved in Stock.objects.values_list("pk", "on_hand", "reserved")
        if on_hand < reserved or reserved != held.get(pk, 0)
    )


def main() -> None:
    skus = json.loads(os.environ["BENCH_SKUS"])
    queries_for(skus[:3], 0)  # fills this process's caches, as a running server's are
    plan = json.load(sys.stdin)  # the coupons used, too many for the environment
    used = Coupon.objects.filter(code__in=plan)
    earned_twice = (
        Entry.objects.filter(kind="earn", cause_kind="order")
        .values("cause_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    orders_twice = (  # among the benchmark's members: the demo's own buy in every state
        Order.objects.filter(channel="mall", member__in=used.values("member"))
        .values("member_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    queries = {str(size): queries_for(skus[:size], n) for n, size in enumerate((1, 3, 10), 1)}
    print(
        json.dumps(
            {
                "queries": queries,
                "oversell": oversold(),
                "ledger_problems": ledger_problems(),
                "coupons_used_once": used.filter(status="used").count() == len(plan)
                and used.values("order_id").distinct().count() == len(plan),
                "duplicates": earned_twice + orders_twice,
            }
        )
    )


main()
