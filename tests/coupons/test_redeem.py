"""At the counter and in orders: redeemed once, locked by one order, used, released, restored;
expiry and reminders."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core.models import Event
from apps.coupons.errors import (
    AlreadyUsed,
    CouponExpired,
    CouponLocked,
    CouponNotFound,
    CouponNotUsable,
)
from apps.coupons.issuing import coupon_claim
from apps.coupons.jobs import coupons_expire_due, coupons_remind_expiring
from apps.coupons.models import Coupon
from apps.coupons.redemption import (
    coupon_redeem,
    coupons_lock,
    coupons_release,
    coupons_restore,
    coupons_use,
)
from tests.conftest import run_together
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory


@pytest.fixture
def coupon(db):
    return coupon_claim(template=CouponTemplateFactory(), member=MemberFactory())


@pytest.mark.django_db
def test_a_coupon_is_redeemed_once(coupon):
    store = StoreFactory()

    used = coupon_redeem(code=coupon.code.lower(), store=store, external_id="S1-0001")
    with pytest.raises(AlreadyUsed):
        coupon_redeem(code=coupon.code, store=store)

    assert (used.status, used.used_store, used.receipt) == ("used", store, "S1-0001")


@pytest.mark.django_db
def test_redeeming_refusals_change_nothing(coupon):
    here, elsewhere = StoreFactory(), StoreFactory()
    coupon.template.usable_stores.add(here)

    with pytest.raises(CouponNotFound):
        coupon_redeem(code="NOSUCHCODE", store=here)
    with pytest.raises(CouponNotUsable):
        coupon_redeem(code=coupon.code, store=elsewhere)
    Coupon.objects.filter(pk=coupon.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(CouponExpired):
        coupon_redeem(code=coupon.code, store=here)

    assert Coupon.objects.get(pk=coupon.pk).status == "available"


@pytest.mark.django_db
def test_a_channel_the_coupon_is_not_for_is_refused(coupon):
    coupon.template.channels = "miniprogram,mall"
    coupon.template.save()

    with pytest.raises(CouponNotUsable):
        coupon_redeem(code=coupon.code, store=StoreFactory())


@pytest.mark.django_db(transaction=True)
def test_two_counters_scanning_one_coupon_at_once_redeem_it_once(coupon):
    store = StoreFactory()

    def redeem():
        try:
            coupon_redeem(code=coupon.code, store=store)
            return "ok"
        except AlreadyUsed:
            return "used"

    assert sorted(run_together(redeem, 8)) == ["ok"] + ["used"] * 7


@pytest.mark.django_db
def test_an_order_locks_uses_and_a_full_refund_restores(coupon, settings):
    store, member = StoreFactory(), coupon.member

    coupons_lock(codes=[coupon.code], member=member, order_id=1, store=store, channel="store")
    coupons_lock(codes=[coupon.code], member=member, order_id=1, store=store, channel="store")
    with pytest.raises(CouponLocked), transaction.atomic():  # its caller's, which it ends
        coupons_lock(codes=[coupon.code], member=member, order_id=2, store=store, channel="store")
    with pytest.raises(CouponLocked):
        coupon_redeem(code=coupon.code, store=store)

    assert (
        coupons_use(
            order_id=1,
            store=store,
            discounts={coupon.code: (Decimal("20.00"), Decimal("128.00"))},
        )
        == 1
    )
    used = Coupon.objects.get(pk=coupon.pk)
    assert (used.status, used.discount, used.order_amount) == (
        "used",
        Decimal("20.00"),
        Decimal("128.00"),
    )

    assert coupons_restore(order_id=1) == 1
    assert Coupon.objects.get(pk=coupon.pk).status == "available"

    settings.COUPON_RESTORE_ON_REFUND = False
    coupons_lock(codes=[coupon.code], member=member, order_id=3, store=store, channel="store")
    coupons_use(order_id=3, store=store, discounts={})
    assert coupons_restore(order_id=3) == 0


@pytest.mark.django_db
def test_a_cancelled_order_releases_its_coupons_and_nobody_else_can_lock_them(coupon):
    store = StoreFactory()
    with pytest.raises(CouponNotFound), transaction.atomic():
        coupons_lock(
            codes=[coupon.code], member=MemberFactory(), order_id=5, store=store, channel="store"
        )

    coupons_lock(
        codes=[coupon.code], member=coupon.member, order_id=9, store=store, channel="store"
    )
    assert coupons_release(order_id=9) == 1

    released = Coupon.objects.get(pk=coupon.pk)
    assert (released.status, released.order_id) == ("available", None)


@pytest.mark.django_db
def test_expiry_marks_what_has_ended_and_reminders_go_once(settings, django_assert_max_num_queries):
    template = CouponTemplateFactory(total_stock=None, per_member_limit=5)
    member = MemberFactory()
    ending, ended, fine = (coupon_claim(template=template, member=member) for _ in range(3))
    now = timezone.now()
    Coupon.objects.filter(pk=ending.pk).update(valid_until=now + timedelta(days=2))
    Coupon.objects.filter(pk=ended.pk).update(valid_until=now - timedelta(minutes=1))

    assert coupons_expire_due() == 1
    assert coupons_expire_due() == 0
    assert coupons_remind_expiring() == 1
    assert coupons_remind_expiring() == 0

    assert Coupon.objects.get(pk=ended.pk).status == "expired"
    assert Coupon.objects.get(pk=fine.pk).status == "available"
    reminder = Event.objects.get(name="coupons_expiring")
    assert reminder.payload["member"] == member.pk
    assert [c["code"] for c in reminder.payload["coupons"]] == [ending.code]


@pytest.mark.django_db
def test_the_checkout_sees_what_a_coupon_takes_off_or_why_not(coupon):
    from apps.coupons.rules import CouponLine
    from apps.coupons.selectors import coupon_outcome

    store = StoreFactory()
    big = [CouponLine("SKU1", "shoes", 1, Decimal("150"), Decimal("150"))]
    small = [CouponLine("SKU2", "socks", 1, Decimal("30"), Decimal("30"))]

    assert coupon_outcome(coupon, lines=big, store=store, channel="store").discount == 20
    assert (
        "满 100.00 元" in coupon_outcome(coupon, lines=small, store=store, channel="store").reason
    )
    coupon_redeem(code=coupon.code, store=store)
    coupon.refresh_from_db()
    assert (
        coupon_outcome(coupon, lines=big, store=store, channel="store").reason == "该优惠券已使用。"
    )


@pytest.mark.django_db
def test_the_checkout_check_says_per_code_which_coupon_and_why_not(
    coupon, django_assert_num_queries
):
    from apps.coupons.issuing import coupon_claim
    from apps.coupons.redemption import coupon_offers_check

    member, store, elsewhere = coupon.member, StoreFactory(), StoreFactory()
    template = CouponTemplateFactory(total_stock=None, per_member_limit=5)
    template.usable_stores.add(elsewhere)
    used, held, ended, not_here, void = (
        coupon_claim(template=template, member=member) for _ in range(5)
    )
    Coupon.objects.filter(pk=used.pk).update(status="used", used_at=timezone.now(), order_id=1)
    Coupon.objects.filter(pk=held.pk).update(status="locked", order_id=2)
    Coupon.objects.filter(pk=ended.pk).update(valid_until=timezone.now())
    Coupon.objects.filter(pk=void.pk).update(status="void")
    others = coupon_claim(template=CouponTemplateFactory(), member=MemberFactory())
    codes = [coupon.code.lower(), " NOSUCH ", used.code, held.code, ended.code, not_here.code]
    codes += [void.code, others.code, coupon.code, ""]

    checks = coupon_offers_check(
        codes, member=member, store=store, channel="store", now=timezone.now()
    )

    assert [(c.code, c.coupon, c.refused, c.refused_code) for c in checks] == [
        (coupon.code, coupon, "", "not_eligible"),
        ("NOSUCH", None, "该会员没有这个券码的优惠券", "not_found"),
        (used.code, used, "已使用", "already_used"),
        (held.code, held, "已被另一笔未支付订单占用", "already_used"),
        (ended.code, ended, "该优惠券已过期。", "expired"),
        (not_here.code, not_here, "该门店不可用", "not_eligible"),
        (void.code, void, "该优惠券已过期。", "expired"),
        (others.code, None, "该会员没有这个券码的优惠券", "not_found"),
    ]
    assert checks[0].coupon.template.usable_store_ids == frozenset()  # the cached template
    with django_assert_num_queries(1):  # the coupons; their templates held in this process
        coupon_offers_check(codes, member=member, store=store, channel="store", now=timezone.now())
    with django_assert_num_queries(0):
        assert [
            c.refused_code
            for c in coupon_offers_check(
                [coupon.code], member=None, store=store, channel="store", now=timezone.now()
            )
        ] == ["not_found"]
