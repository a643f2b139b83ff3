"""在线收款 on a phone: a person scans S002's pay QR (a guide's), signs in, joins the store
as they pay 128.00 with their tier discount (the sandbox gateway), sees the receipt with
the points earned; the S002 owner's dashboard shows the sale. Every /m/ page passes axe."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.analytics.services import rollup_day
from apps.members.models import Member
from apps.orders.models import Order
from apps.points.models import EarningRule
from apps.tiers.models import Tier
from tests.browser.test_member_centre import accessible, sign_in, stores, watched  # noqa: F401
from tests.core.factories import UserFactory
from tests.stores.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_joins_s002_as_they_pay_its_qr_and_the_dashboard_shows_the_sale(
    watched,  # noqa: F811
    stores,  # noqa: F811
):
    page = watched
    Tier.objects.filter(code="normal").update(discount_percent=5)
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    owner = UserFactory(username="owner_S002")
    owner.set_password("demo12345")
    owner.save()
    StaffFactory(user=owner, store=stores["S002"])
    guide_code = stores["guide"].guide_code

    page.goto(f"/m/s/S002/pay?guide={guide_code}")
    expect(page).to_have_url(re.compile(r"/m/login\?next="))
    sign_in(page)

    expect(page).to_have_url(re.compile(rf"/m/s/S002/pay\?guide={guide_code}$"))
    expect(page.get_by_role("heading", name="杭州湖滨加盟店")).to_be_visible()
    accessible(page)
    page.get_by_label("付款金额（元）").fill("128.00")
    expect(page.locator("#q-payable")).to_have_text("¥121.60")
    expect(page.locator("#q-member")).to_have_text("−¥6.40")
    expect(page.locator("#join-saves")).to_have_text(
        "付款同时加入 杭州湖滨加盟店，本次立省 ¥6.40。"
    )
    accessible(page)
    page.get_by_role("button", name="入会并支付 ¥121.60").click()

    expect(page.locator("#r-payable")).to_have_text("¥121.60")
    expect(page.locator("#r-earned")).to_have_text("本单获得 121 积分")
    accessible(page)
    member = Member.objects.get(phone="13800000000")
    assert (member.home_store, member.guide) == (stores["S002"], stores["guide"])
    order = Order.objects.get(member=member)
    assert (order.channel, order.store, order.guide, order.status) == (
        "store_pay",
        stores["S002"],
        stores["guide"],
        "paid",
    )
    assert order.payable == Decimal("121.60")

    rollup_day(timezone.localdate())  # the nightly figures, as the dashboard reads them
    page.goto("/dashboard/login/")
    page.get_by_label("用户名").fill("owner_S002")
    page.get_by_label("密码").fill("demo12345")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/dashboard/stores/S002/$"))
    sales = page.locator(".tile", has_text="销售额").first
    expect(sales).to_contain_text("¥121.60")
