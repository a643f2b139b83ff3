"""After bench.pos_checkout: queries per order (2 lines and 20 lines), and correctness."""

import json
import sys

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from apps.coupons.issuing import coupon_issue_for_event  # noqa: E402
from apps.coupons.models import Coupon, CouponTemplate  # noqa: E402
from apps.members.credentials import member_code_issue  # noqa: E402
from apps.members.models import Member  # noqa: E402
from apps.points.models import Entry  # noqa: E402
from apps.points.services import points_earn  # noqa: E402
from apps.points.verification import ledger_problems  # noqa: E402
from apps.stores.models import Store  # noqa: E402
from apps.stores.services import pos_key_create  # noqa: E402


def queries_for(lines: int, client: Client, template, n: int) -> int:
    member = Member.objects.create(phone=f"1570000{n:04d}", source="store")
    points_earn(
        member=member,
        amount=3000,
        key=f"check:{n}",
        cause_kind="demo",
        description="t",
        pending=False,
    )
    coupon = coupon_issue_for_event(template=template, member=member, cause_kind="demo", cause_id=n)
    body = {
        "external_id": f"CHECK-{n}",
        "member_code": member_code_issue(member=member)[0],
        "lines": [
            # 100 yuan either way, so that neither basket lifts its member to another tier
            {"sku": f"SKU{k:04d}", "quantity": 1, "unit_price": f"{100 / lines:.2f}"}
            for k in range(1, lines + 1)
        ],
        "coupon_codes": [coupon.code],
        "points": 500,
    }
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/pos/v1/orders",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"check-{n}",
        )
    assert response.status_code == 201, response.content
    return len(captured)


def main() -> None:
    _key, raw = pos_key_create(store=Store.objects.get(code="S001"), name="checks")
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw}", SERVER_NAME="127.0.0.1")
    template = CouponTemplate.objects.get(name="基准满100减10")
    queries_for(2, client, template, 0)  # fills this process's caches, as a running server's are
    plan = json.load(sys.stdin)  # the coupons used, too many for the environment
    used = Coupon.objects.filter(code__in=plan)
    twice = (
        Entry.objects.filter(kind="earn", cause_kind="order")
        .values("cause_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    print(
        json.dumps(
            {
                "queries_2_lines": queries_for(2, client, template, 1),
                "queries_20_lines": queries_for(20, client, template, 2),
                "ledger_problems": ledger_problems(),
                "coupons_used_once": used.filter(status="used").count() == len(plan)
                and used.values("order_id").distinct().count() == len(plan),
                "duplicates": twice,
            }
        )
    )


main()
