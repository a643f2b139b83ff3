"""seed_demo: the demo brand of API.md, deterministic, and safe to run twice."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from apps.core.models import AuditEntry, User
from apps.coupons.models import Coupon, CouponTemplate
from apps.distributors.models import Distributor, Region
from apps.mall.models import Category, Product, Reservation, Shelf, Sku, Stock, TierPrice
from apps.mall.selectors import products_for_store, store_mall_products
from apps.marketing.models import Campaign, CampaignGrant, CampaignMember, CareCall, Message
from apps.marketing.report import campaign_report
from apps.members.models import Address, Member, PromoterBinding
from apps.orders.models import (
    Fulfilment,
    OnlineShare,
    Order,
    Payment,
    Refund,
    RefundRequest,
    ShippingRule,
)
from apps.orders.settlement import online_statement
from apps.points.models import Account, Entry, Lot, LotUse
from apps.points.selectors import points_totals
from apps.referrals.demo import FRIENDS as REFERRED_FRIENDS
from apps.referrals.models import (
    Commission,
    CommissionAccount,
    CommissionEntry,
    Promoter,
    Referral,
    ReferralFlag,
    ReferralReward,
    Withdrawal,
)
from apps.stores.models import PosApiKey, Staff, Store
from apps.tiers.models import GrowthEntry, MemberTier, TierChange
from apps.tiers.selectors import tier_summary

pytestmark = pytest.mark.django_db

MODELS = [User, Region, Distributor, Store, Staff, PosApiKey, AuditEntry, Member]
MODELS += [Category, Product, Sku, TierPrice, Stock, Shelf]
MODELS += [Order, Fulfilment, RefundRequest, ShippingRule, OnlineShare, Address]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", "--members", "30", *args, stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def signs_in(*, username: str, password: str):
    """The user these credentials sign in, through the sign-in lockout as a login form does."""
    return authenticate(
        RequestFactory().post("/admin/login/"), username=username, password=password
    )


def test_demo_brand_has_what_api_md_promises(api_client):
    output = seed()

    assert set(Distributor.objects.values_list("code", flat=True)) >= {"D01", "D02"}
    s001, s002, s003 = (Store.objects.get(code=code) for code in ("S001", "S002", "S003"))
    assert s001.kind == Store.Kind.DIRECT
    assert (s002.kind, s002.distributor.code) == (Store.Kind.FRANCHISE, "D01")
    assert (s003.kind, s003.distributor.code) == (Store.Kind.FRANCHISE, "D01")
    admin = signs_in(username="admin", password="demo12345")
    assert admin is not None and admin.is_superuser
    for code in ("S001", "S002", "S003"):
        owner = signs_in(username=f"owner_{code}", password="demo12345")
        assert owner is not None and not owner.is_staff
        assert Staff.objects.get(user=owner).store.code == code

    raw_key = output.split("POS API key of S001: ")[1].split()[0]
    assert (
        api_client.get("/api/pos/v1/store", HTTP_AUTHORIZATION=f"Api-Key {raw_key}").json()["code"]
        == "S001"
    )


def test_running_twice_duplicates_nothing_and_restores_passwords():
    seed()
    before = counts()
    admin = User.objects.get(username="admin")
    admin.set_password("changed-by-someone")
    admin.save()

    seed()

    assert counts() == before
    assert signs_in(username="admin", password="demo12345") is not None


def test_same_seed_gives_the_same_brand():
    def picture():
        staff = Staff.objects.values_list(
            "user__username", "user__last_name", "user__first_name", "guide_code"
        )
        members = Member.objects.values_list(
            "phone", "name", "birthday", "home_store__code", "referral_code"
        )
        return sorted(staff), sorted(members, key=str)

    seed("--seed", "7")
    first = picture()
    for model in [
        ReferralFlag,
        ReferralReward,
        Referral,
        CommissionEntry,
        Withdrawal,
        Commission,
        CommissionAccount,
        Promoter,
        PromoterBinding,
        Reservation,
        RefundRequest,
        Message,
        CareCall,
        CampaignGrant,
        Campaign,  # with its actions and members
        Refund,
        Payment,
        Order,
        Coupon,
        CouponTemplate,
        LotUse,
        Lot,
        Entry.objects.exclude(reverses=None),  # a reversal keeps what it reverses
        Entry,
        GrowthEntry,
        TierChange,
        MemberTier,
    ]:
        (model.objects.all() if isinstance(model, type) else model).delete()
    Account.objects.exclude(member=None, store=None).delete()
    Account.objects.update(balance=0)
    for model in [Member, Staff, PosApiKey, Store, Distributor, Region, AuditEntry, User]:
        model.objects.all().delete()
    seed("--seed", "7")

    assert picture() == first


def test_refused_where_demo_data_is_not_allowed(settings):
    settings.DEMO_DATA_ALLOWED = False

    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED"):
        seed()
    assert not User.objects.filter(username="admin").exists()


def test_members_scale_with_the_option_and_the_demo_member_is_ready():
    seed("--members", "50")

    assert Member.objects.count() == 51 + len(REFERRED_FRIENDS)  # and a referrer's friends
    demo = Member.objects.get(phone="13800000000")
    assert demo.home_store.code == "S001" and demo.status == Member.Status.ACTIVE
    assert Member.objects.filter(home_store__isnull=True).count() == 0


@pytest.mark.parametrize("seed_option", [(), ("--seed", "7")])
def test_the_demo_member_holds_the_5000_points_and_the_gold_tier_api_md_promises(seed_option):
    output = seed(*seed_option)

    demo = Member.objects.get(phone="13800000000")
    held = points_totals(demo)
    assert held["available"] == 5000  # after the 1,000 their last demo order spent
    assert Order.objects.filter(member=demo, points_used=1000).count() == 1
    assert (
        f"The demo member 13800000000: 5000 points available, {held['pending']} pending" in output
    )
    assert held["pending"] == sum(Order.objects.filter(member=demo).values_list(
        "points_earned", flat=True
    ))  # fmt: skip
    # their history and their orders' growth stay between gold's 2,000 and platinum's 6,000
    assert MemberTier.objects.get(member=demo).tier.code == "gold"
    growth = tier_summary(demo)["growth"]
    assert 2000 <= growth["value"] < 6000 and growth["next_tier"] == "platinum"
    assert "has passed), tier 黄金会员.\n" in output


def test_the_demo_catalogue():
    seed()
    pictures = dict(Product.objects.values_list("pk", "image"))

    assert Category.objects.filter(parent=None).count() == 5
    assert Category.objects.exclude(parent=None).count() == 10
    assert Product.objects.count() == 50
    # SKU0001…SKU0050 as API.md's examples and the POS tests price them
    prices = {sku.sku: (sku.price, sku.member_price) for sku in Sku.objects.all()}
    assert prices["SKU0001"] == (Decimal("99"), None)
    assert prices["SKU0003"] == (Decimal("399"), Decimal("339"))
    assert prices["SKU0050"] == (Decimal("149"), None)
    tee = Sku.objects.get(sku="SKU0001").product
    assert tee.category.parent.name == "上衣" and tee.featured
    assert [(s.sku, s.specs) for s in tee.skus.order_by("sku")][:2] == [
        ("SKU0001", {"颜色": "白", "尺码": "M"}),
        ("SKU0001-2", {"颜色": "白", "尺码": "L"}),
    ]
    sku_counts = {product.skus.count() for product in Product.objects.all()}
    assert sku_counts == {1, 2, 3, 4}
    assert Product.objects.filter(members_only=True).count() == 5
    assert TierPrice.objects.exists()
    for product in Product.objects.all():
        assert default_storage.exists(product.image.name)
        assert default_storage.exists(product.thumbnail.name)

    s001, s003 = Store.objects.get(code="S001"), Store.objects.get(code="S003")
    assert products_for_store(s003).count() == 46
    assert Stock.objects.filter(store=None).count() == Sku.objects.count()
    assert Stock.objects.get(sku__sku="SKU0003", store=None).on_hand == 0
    assert Stock.objects.get(sku__sku="SKU0002", store=s001).on_hand == 0
    assert Stock.objects.filter(store=s001, on_hand__lte=settings.MALL_LOW_STOCK).count() > 2
    assert not Stock.objects.filter(store=s003, sku__product__everywhere=False).exists()
    for store in Store.objects.filter(code__in=["S001", "S002", "S003"]):
        mall = list(store_mall_products(store))
        assert len(mall) == products_for_store(store).count() - 1  # one hidden
        assert [product.pinned for product in mall[:3]] == [True, True, False]

    seed()

    assert dict(Product.objects.values_list("pk", "image")) == pictures


def test_the_demo_online_orders_are_in_every_state_in_each_malls_store():
    output = seed()

    for code in ("S001", "S002", "S003"):
        mall = Order.objects.filter(store__code=code, channel="mall")
        states = sorted(
            mall.values_list(
                "status", "fulfilment__kind", "fulfilment__status", "refund_requests__status"
            ),
            key=str,
        )
        assert states == sorted(
            [
                ("created", "pickup", "waiting", None),  # unpaid, its stock reserved
                ("cancelled", "pickup", "cancelled", None),
                ("cancelled", "delivery", "cancelled", None),  # not paid in time
                ("paid", "pickup", "to_hand_over", None),
                ("completed", "pickup", "done", None),
                ("paid", "delivery", "to_hand_over", None),
                ("paid", "delivery", "shipped", None),
                ("completed", "delivery", "done", None),
                ("paid", "pickup", "to_hand_over", "requested"),
                ("partially_refunded", "delivery", "done", "refunded"),
                ("completed", "pickup", "done", "refused"),
            ],
            key=str,
        )
        shipped = Fulfilment.objects.filter(order__in=mall, status="shipped").get()
        assert shipped.carrier and shipped.tracking_no and shipped.shipped_at
        assert Fulfilment.objects.filter(order__in=mall, kind="delivery").exclude(address="")
        pay = Order.objects.filter(store__code=code, channel="store_pay")
        assert list(pay.values_list("status", flat=True)) == ["paid", "paid"]
    assert not Order.objects.filter(
        member__phone="13800000000", channel__in=["mall", "store_pay"]
    ).exists()
    assert Stock.objects.filter(reserved__gt=0).exists()
    assert ShippingRule.objects.filter(region="").exists() and OnlineShare.objects.exists()
    today = timezone.localdate()
    rows = online_statement(start=today - timedelta(days=7), end=today)
    statement = {row.store.code: row for row in rows}
    assert statement["S002"].owed > 0 and statement["S001"].owed is None
    assert "Online orders: 33 new in S001, S002, S003's malls" in output
    assert "6 new store payments" in output


def test_the_demo_member_has_a_note_in_the_inbox_once():
    seed()
    seed()

    demo = Member.objects.get(phone="13800000000")
    [note] = Message.objects.filter(member=demo)
    assert (note.channel, note.status, note.title) == ("inbox", "sent", "林晓，本周三会员日")
    assert "黄金会员会员日积分翻倍" in note.body


def test_a_finished_campaign_whose_report_has_figures_seeded_once():
    seed()
    campaign = Campaign.objects.get(name="春季回购礼")
    rows = (CampaignMember.objects.count(), CampaignGrant.objects.count(), Coupon.objects.count())
    orders = Order.objects.filter(external_id__startswith="DEMO-CAMPAIGN-").count()
    seed()

    report = campaign_report(campaign)
    bought = next(metric for metric in report.metrics if metric.name == "bought")
    revenue = next(metric for metric in report.metrics if metric.name == "revenue")
    campaign.refresh_from_db()
    assert campaign.status == "ended"
    assert report.reached > 0 and report.holdout > 0
    assert (
        report.reached + report.holdout == CampaignMember.objects.filter(campaign=campaign).count()
    )
    assert bought.reached > 0 and revenue.reached > 0
    assert report.cost["coupons_issued"] == report.reached
    # the orders are real sales: paid, priced, and earning points like any other
    sale = Order.objects.filter(external_id__startswith="DEMO-CAMPAIGN-").first()
    assert sale.status in ("paid", "completed") and sale.order_no and sale.lines.exists()
    assert Entry.objects.filter(cause_kind="order", cause_id=sale.pk).exists()
    # a second seed_demo adds nothing
    assert (
        CampaignMember.objects.count(),
        CampaignGrant.objects.count(),
        Coupon.objects.count(),
    ) == rows
    assert Order.objects.filter(external_id__startswith="DEMO-CAMPAIGN-").count() == orders > 0
