import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.mall.models import Sku
from apps.members.attribution import promoter_bind
from apps.members.models import Member, PromoterBinding, new_referral_code
from apps.members.services import member_join_or_find
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.orders.refunds import order_refund
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.models import CommissionRule, Promoter, Referral, ReferralRule, Withdrawal
from apps.referrals.rewards import (
    referral_first_order,
    referral_record,
    referral_rewards_give_due,
)
from apps.referrals.selectors import promoter_balances
from apps.referrals.withdrawals import withdrawal_approve, withdrawal_request
from apps.stores.models import Staff, Store

DEMO_PHONE = "13800000000"
STORES = ("S001", "S002", "S003")
# Each promoter's customers' orders: days ago. Those past the return window are available.
ORDER_DAYS = (40, 20, 3)


def seed(ctx: DemoContext) -> None:
    """Distribution: a 10% / 5% default rule, and in each of S001–S003 a promoter with two
    customers bound through their link, whose orders earned commissions in every state:
    available, frozen, half taken back by a refund; in S001 a withdrawal paid and then a
    refund that left a debt, in S003 a withdrawal waiting for finance. Orders, refunds and
    withdrawals have fixed ids, so a second run adds nothing. In S001 also a guide's sale
    that earned them commission, and an application waiting for the owner."""
    CommissionRule.objects.get_or_create(
        scope=CommissionRule.Scope.DEFAULT,
        category="",
        sku="",
        active=True,
        defaults={"name": "默认佣金 10% / 5%", "mode": "rate", "level1": 10, "level2": 5},
    )
    sku = Sku.objects.filter(active=True, product__active=True).order_by("sku").first()
    now = timezone.now()
    made = []
    # the store's own members first, then others: a small demo has few members a store
    members = list(
        Member.objects.filter(status=Member.Status.ACTIVE, home_store__isnull=False)
        .exclude(phone=DEMO_PHONE)
        .order_by("pk")[:60]
    )
    for store in Store.objects.filter(code__in=STORES).order_by("code"):
        people = sorted(members, key=lambda m: m.home_store_id != store.pk)[:3]
        members = [m for m in members if m not in people]
        if sku is None or len(people) < 3:
            continue
        promoter, _created = Promoter.objects.get_or_create(
            member=people[0],
            defaults={"status": Promoter.Status.APPROVED, "store": store, "decided_at": now},
        )
        orders = [
            _order(store, promoter, customer, sku, days, now)
            for customer in people[1:]
            for days in ORDER_DAYS
        ]
        for order in orders:
            commissions_write(order_id=order.pk)
        commissions_release_due(now=now)
        _refund(orders[1], "demo-half", _half(orders[1]))  # 20 days ago: available
        _refund(orders[2], "demo-half", _half(orders[2]))  # 3 days ago: frozen
        if store.code == "S001":
            _withdraw(promoter, "demo-paid", pay=True)
            _refund(orders[3], "demo-debt", orders[3].paid_amount)  # after the withdrawal
        elif store.code == "S003":
            _withdraw(promoter, "demo-waiting", pay=False)
        if store.code == "S001" and members:
            _guide_sale(store, sku, now)
            Promoter.objects.get_or_create(
                member=members.pop(0),
                defaults={"status": Promoter.Status.APPLIED, "store": store},
            )
        money = promoter_balances(promoter)
        made.append(
            f"{store.code} (frozen {money['frozen']}, available {money['available']}, "
            f"debt {money['debt']})"
        )
    if made:
        ctx.notes.append(f"Distribution: a promoter with customers in {'; '.join(made)}.")
    if sku is not None:
        _referrals(ctx, sku, now)


def _order(store, promoter: Promoter, customer: Member, sku: Sku, days: int, now) -> Order:
    external_id = f"DEMO-REF-{customer.pk}-{days}"
    if (order := Order.objects.filter(store=store, external_id=external_id).first()) is not None:
        return order
    promoter_bind(
        member=customer,
        promoter=promoter.member,
        source=PromoterBinding.Source.LINK,
        new_member=True,
        now=now - timedelta(days=60),
    )
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=customer,
            lines=[LineInput(sku=sku.sku, quantity=2, unit_price=sku.price)],
        ),
        external_id=external_id,
        now=now - timedelta(days=days),
    )


def _guide_sale(store, sku: Sku, now) -> None:
    guide = (
        Staff.objects.filter(store=store, role=Staff.Role.GUIDE, is_active=True)
        .order_by("pk")
        .first()
    )
    external_id = f"DEMO-GUIDE-{store.code}"
    if guide is None or Order.objects.filter(store=store, external_id=external_id).exists():
        return
    order = order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            guide=guide,
            lines=[LineInput(sku=sku.sku, quantity=1, unit_price=sku.price)],
        ),
        external_id=external_id,
        now=now - timedelta(days=2),
    )
    commissions_write(order_id=order.pk)


def _half(order: Order) -> Decimal:
    return (order.paid_amount / 2).quantize(Decimal("0.01"))


def _refund(order: Order, refund_id: str, amount: Decimal) -> None:
    if order.refunds.filter(refund_id=refund_id).exists():
        return
    refund = order_refund(order=order, refund_id=refund_id, amount=amount)
    commissions_reverse(refund_id=refund.pk)


def _withdraw(promoter: Promoter, key: str, *, pay: bool) -> None:
    available = promoter_balances(promoter)["available"]
    if Withdrawal.objects.filter(promoter=promoter, key=key).exists() or available < 1:
        return
    withdrawal = withdrawal_request(promoter=promoter, amount=available, key=key)
    if pay:
        withdrawal_approve(withdrawal=withdrawal, actor=None)


# A member's friends: (phone, days since their first order or None, days since joining)
FRIENDS = (
    ("13800000101", 20, 25),  # rewarded
    ("13800000102", 15, 18),  # rewarded
    ("13800000103", 2, 5),  # first order in its return window
    ("13800000104", None, 40),  # never bought: flagged for HQ
)


def _referrals(ctx: DemoContext, sku: Sku, now) -> None:
    """老带新: HQ's rule (200 points and 20 growth for the referrer, 100 points for the
    friend), and S001's first member (not the demo member, whose 5,000 points API.md
    promises) with four friends: two rewarded, one whose first order is in its return
    window, one flagged for never buying."""
    ReferralRule.objects.get_or_create(
        name="老带新 邀请有礼",
        defaults={"referrer_points": 200, "referrer_growth": 20, "referee_points": 100},
    )
    store = Store.objects.filter(code="S001").first()
    referrer = (
        Member.objects.filter(home_store=store, status=Member.Status.ACTIVE)
        .exclude(phone=DEMO_PHONE)
        .exclude(phone__in=[phone for phone, _bought, _joined in FRIENDS])
        .order_by("pk")
        .first()
    )
    if referrer is None or store is None:
        return
    for phone, bought, joined in FRIENDS:
        friend, created = member_join_or_find(
            phone=phone, source="demo", store=store, referrer=referrer
        )
        if created:  # the same code from the same seed, as the other demo members'
            code = new_referral_code(random.Random(f"{ctx.seed}-{phone}").choice)
            Member.objects.filter(pk=friend.pk).update(referral_code=code)
        Member.objects.filter(pk=friend.pk).update(joined_at=now - timedelta(days=joined))
        referral = referral_record(referee_id=friend.pk, referrer_id=referrer.pk)
        if referral is None:
            continue
        Referral.objects.filter(pk=referral.pk).update(joined_at=now - timedelta(days=joined))
        if bought is not None:
            order = _friend_order(store, friend, sku, bought, now)
            referral_first_order(order_id=order.pk)
    referral_rewards_give_due(now=now)
    states = Referral.objects.filter(referrer=referrer).values_list("status", flat=True)
    ctx.notes.append(
        f"Referrals: {referrer.phone} brought {len(states)} friends ({', '.join(sorted(states))})."
    )


def _friend_order(store, friend: Member, sku: Sku, days: int, now) -> Order:
    external_id = f"DEMO-FRIEND-{friend.pk}"
    if (order := Order.objects.filter(store=store, external_id=external_id).first()) is not None:
        return order
    return order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=friend,
            lines=[LineInput(sku=sku.sku, quantity=1, unit_price=sku.price)],
        ),
        external_id=external_id,
        now=now - timedelta(days=days),
    )
