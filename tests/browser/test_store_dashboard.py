"""A shop owner's day on a phone: log in, read the overview and its charts, identify a
member at the counter, redeem a coupon, record a sale, log out."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.analytics.services import rollup_day
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon
from apps.members.credentials import member_code_issue
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.models import Order
from apps.orders.pricing import LineInput
from apps.points.models import EarningRule
from apps.points.services import points_earn
from apps.tiers.models import Tier
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    Tier.objects.create(code="gold", name="黄金会员", rank=1, growth_threshold=5000)
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=Decimal("99"))
    store = StoreFactory(code="S001", name="上海恒隆店")
    owner = UserFactory(username="owner_S001")
    owner.set_password("demo12345")
    owner.save()
    StaffFactory(user=owner, store=store)
    member = MemberFactory(phone="13900001111", name="王安", home_store=store)
    points_earn(
        member=member, amount=3000, key="seed", cause_kind="admin", description="t", pending=False
    )
    template = CouponTemplateFactory(name="满100减20")
    counter_coupon = coupon_claim(template=template, member=member)
    sale_coupon = coupon_claim(template=CouponTemplateFactory(name="新品券"), member=member)
    order_place_paid(
        checkout=Checkout(
            store=store,
            channel="pos",
            member=member,
            lines=[LineInput(sku="TEE", quantity=2, unit_price=Decimal("99"))],
        ),
        external_id="EARLIER-1",
    )
    rollup_day(timezone.localdate())
    return {"member": member, "counter_coupon": counter_coupon, "sale_coupon": sale_coupon}


def test_a_shop_owner_serves_a_member_at_the_counter(phone, shop):
    phone.goto("/dashboard/")
    expect(phone.get_by_role("heading", name="门店工作台")).to_be_visible()
    phone.get_by_label("用户名").fill("owner_S001")
    phone.get_by_label("密码").fill("demo12345")
    phone.get_by_role("button", name="登录").click()

    expect(phone).to_have_url(re.compile(r"/dashboard/stores/S001/$"))
    expect(phone.get_by_role("heading", name="概览")).to_be_visible()
    expect(phone.locator(".chart .col")).to_have_count(30)
    expect(phone.locator(".bars li")).to_have_count(2)
    expect(phone.locator(".tile").first).to_contain_text("1")
    assert _fits_the_screen(phone)

    phone.get_by_role("link", name="收银台").click()
    code, _expires = member_code_issue(member=shop["member"])  # shown: it may spend points
    phone.get_by_placeholder("会员码或手机号").fill(code)
    phone.get_by_role("button", name="识别会员").click()
    panel = phone.locator(".member-panel")
    expect(panel).to_contain_text("王安")
    expect(panel).to_contain_text("139****1111")
    expect(panel.locator(".points")).to_have_text("3000")  # the 198 earned before are pending

    phone.get_by_placeholder("券码").fill(shop["counter_coupon"].code)
    phone.get_by_role("button", name="核销", exact=True).click()
    expect(phone.locator(".messages")).to_contain_text("已核销")

    sale = phone.locator("form.sale")
    sale.locator("input[name='lines-0-sku']").fill("TEE")
    sale.locator("input[name='lines-0-quantity']").fill("2")
    sale.get_by_label("券码").fill(shop["sale_coupon"].code)
    sale.get_by_label("使用积分").fill("1000")
    sale.get_by_role("button", name="计算价格").click()
    expect(phone.locator(".quote .total")).to_contain_text("¥168.00")  # 198 − 20 − 10
    assert _fits_the_screen(phone)
    phone.get_by_role("button", name="记录已收款的销售").click()

    receipt = phone.locator(".receipt")
    expect(receipt).to_contain_text("已记录销售")
    expect(receipt).to_contain_text("¥168.00")
    order = Order.objects.exclude(external_id="EARLIER-1").get()
    expect(receipt).to_contain_text(order.order_no)
    assert (order.payable, order.points_used) == (Decimal("168.00"), 1000)
    assert set(Coupon.objects.values_list("status", flat=True)) == {"used"}

    phone.get_by_role("button", name="退出").click()
    expect(phone).to_have_url(re.compile(r"/dashboard/login/"))
    phone.goto("/dashboard/stores/S001/")
    expect(phone).to_have_url(re.compile(r"/dashboard/login/"))


def test_a_shop_owner_finds_a_member_and_tags_them(phone, shop, client):
    phone.goto("/dashboard/login/")
    phone.get_by_label("用户名").fill("owner_S001")
    phone.get_by_label("密码").fill("demo12345")
    phone.get_by_role("button", name="登录").click()

    phone.get_by_role("link", name="会员", exact=True).click()
    phone.get_by_label("手机尾号或姓名").fill("1111")
    phone.get_by_role("button", name="筛选").click()
    phone.get_by_role("link", name=re.compile("王安")).click()

    expect(phone.locator(".phone")).to_have_text("139****1111")
    phone.get_by_role("button", name="查看完整号码").click()
    expect(phone.locator("a.phone")).to_have_text("13900001111")
    phone.get_by_label("标签").fill("爱喝乌龙")
    phone.get_by_role("button", name="添加标签").click()
    expect(phone.locator(".messages")).to_contain_text("爱喝乌龙")
    assert _fits_the_screen(phone)


def _fits_the_screen(page) -> bool:
    """Nothing sticks out sideways on a phone: no horizontal scrolling of the page."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
