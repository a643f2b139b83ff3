import random
from datetime import timedelta

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.coupons.models import Coupon
from apps.mall.models import Sku
from apps.members.models import Member
from apps.orders import demo_online
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.points.selectors import points_totals
from apps.stores.models import Store
from apps.tiers.selectors import member_tier

DEMO_PHONE = "13800000000"
SHOPPERS = 400  # at most this many members get a year of orders: enough to look alive
# The demo member's recent orders (days ago, SKUs and quantities), the same whatever the
# seed: about 1,150 yuan, so the growth they earn keeps the member gold as API.md promises
# (3,200 history growth from tiers/demo.py, platinum at 6,000). The last one uses a coupon
# and spends 1,000 points.
DEMO_BASKETS = [
    (75, [("SKU0002", 1), ("SKU0001", 2)]),
    (30, [("SKU0003", 1), ("SKU0004", 1)]),
    (9, [("SKU0007", 1), ("SKU0011", 1), ("SKU0005", 1)]),
]


def seed(ctx: DemoContext) -> None:
    """A year of store sales: a few hundred members buying one to six times, mostly at their
    home store, and the demo member's recent orders (one with a coupon and points); then
    the online orders and store payments of demo_online. Each order has a fixed external
    id, so a second run adds nothing."""
    products = list(
        Sku.objects.filter(active=True, product__active=True)
        .select_related("product")
        .order_by("sku")
    )
    stores = list(Store.objects.order_by("code"))
    now = timezone.now()
    demo = Member.objects.get(phone=DEMO_PHONE)
    shoppers = list(
        Member.objects.exclude(pk=demo.pk)
        .select_related("guide")
        .order_by("pk")[: min(SHOPPERS, ctx.members // 4)]
    )
    made = 0
    for member in shoppers:
        rng = random.Random(f"{ctx.seed}:orders:{member.phone}")
        for n in range(rng.randint(1, 6)):
            store = (
                member.home_store
                if rng.random() < 0.8 and member.home_store
                else rng.choice(stores)
            )
            served_by_their_guide = store == member.home_store and rng.random() < 0.6
            made += demo_sale(
                store,
                member,
                demo_basket(rng, products),
                external_id=f"DEMO-{member.phone}-{n}",
                when=now - timedelta(days=rng.randint(1, 364), minutes=rng.randint(0, 600)),
                guide=member.guide if served_by_their_guide else None,
            )
    coupon = Coupon.objects.filter(member=demo, status=Coupon.Status.AVAILABLE).first()
    by_sku = {product.sku: product for product in products}
    for n, (days_ago, basket) in enumerate(DEMO_BASKETS):
        last = n == len(DEMO_BASKETS) - 1
        made += demo_sale(
            demo.home_store,
            demo,
            [LineInput(sku=sku, quantity=q, unit_price=by_sku[sku].price) for sku, q in basket],
            external_id=f"DEMO-{DEMO_PHONE}-{n}",
            when=now - timedelta(days=days_ago),
            coupon_codes=[coupon.code] if coupon and last else [],
            points=1000 if last else 0,
        )
    ctx.notes.append(f"Orders: {made} new demo sales over the past year.")
    held = points_totals(demo)
    ctx.notes.append(
        f"The demo member {DEMO_PHONE}: {held['available']} points available, "
        f"{held['pending']} pending from their orders (the nightly job makes them available "
        f"once the return window has passed), tier {member_tier(demo).name}."
    )
    demo_online.seed(ctx, demo=demo)


def demo_basket(rng: random.Random, products: list[Sku]) -> list[LineInput]:
    return [
        LineInput(sku=product.sku, quantity=rng.randint(1, 3), unit_price=product.price)
        for product in rng.sample(products, rng.randint(1, 4))
        if not product.product.members_only or rng.random() < 0.5
    ] or [LineInput(sku=products[0].sku, quantity=1, unit_price=products[0].price)]


def demo_sale(
    store, member, lines, *, external_id, when, coupon_codes=(), points=0, guide=None
) -> int:
    if Order.objects.filter(store=store, external_id=external_id).exists():
        return 0
    order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=lines,
            coupon_codes=list(coupon_codes),
            points=points,
            guide=guide,
        ),
        external_id=external_id,
        now=when,
    )
    return 1
