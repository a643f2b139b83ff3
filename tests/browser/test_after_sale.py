"""A shop owner answers a member's refund request on a phone: the after-sale tab lists it,
the owner approves it with a note, the sandbox gateway refunds it and the page says so."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.orders.after_sale import refund_request_create
from apps.orders.checkout import Checkout, order_place
from apps.orders.models import Order, RefundRequest
from apps.orders.paying import order_pay
from apps.orders.payments import SandboxPaymentBackend
from apps.orders.pricing import LineInput
from apps.orders.refunds import RefundLineInput
from tests.core.factories import UserFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refund_request_approved_by_s003(phone):
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=Decimal("99"))
    store = StoreFactory(code="S003", name="杭州湖滨店")
    owner = UserFactory(username="owner_S003")
    owner.set_password("demo12345")
    owner.save()
    StaffFactory(user=owner, store=store)
    member = MemberFactory(phone="13900003333", home_store=store)
    order = order_place(
        checkout=Checkout(
            store=store,
            channel="mall",
            member=member,
            lines=[LineInput(sku="TEE", quantity=2, unit_price=Decimal("99"))],
        )
    )
    backend = SandboxPaymentBackend()
    order_pay(notice=backend.verify(backend.notice(order), {}))
    refund_request_create(
        order=order,
        lines=[RefundLineInput(sku="TEE", quantity=1)],
        reason="damaged",
        reason_text="领口开线",
    )

    phone.goto("/dashboard/login/")
    phone.get_by_label("用户名").fill("owner_S003")
    phone.get_by_label("密码").fill("demo12345")
    phone.get_by_role("button", name="登录").click()
    expect(phone).to_have_url(re.compile(r"/dashboard/stores/S003/$"))
    phone.get_by_role("link", name="售后").click()
    row = phone.locator("ul.rows li").first
    expect(row).to_contain_text(order.order_no)
    expect(row).to_contain_text("待审核")
    expect(row).to_contain_text("领口开线")
    row.get_by_label("给会员的说明").fill("同意退一件")
    row.get_by_role("button", name="同意并退款").click()

    expect(phone.locator(".messages")).to_contain_text("已退款")
    expect(phone.locator("ul.rows li").first).to_contain_text("同意退一件")
    asked = RefundRequest.objects.get()
    assert (asked.status, asked.decided_by, asked.refund.amount) == (
        "refunded",
        owner,
        Decimal("99.00"),
    )
    assert Order.objects.get(pk=order.pk).status == "partially_refunded"
