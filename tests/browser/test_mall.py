"""The store's own mall on a phone: a member buys two SKUs of a T-shirt (by colour) for
pickup in S003's mall (catalogue, product, cart, checkout, the sandbox gateway); S003's owner
hands them over at the dashboard's counter and the member's order page shows it picked up;
the member asks for one line back on the order page, the owner approves it, and the page
shows the refund. Every /m/ page passes axe, asks nothing of another origin and breaks no
rule of its Content-Security-Policy."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from apps.mall.models import Sku, Stock
from apps.members.models import Member, PromoterBinding
from apps.orders.cart import cart_replace
from apps.orders.fulfilment import delivery_ship
from apps.orders.models import Order, RefundRequest, ShippingRule
from apps.points.models import EarningRule
from tests.browser.test_member_centre import accessible, sign_in, stores, watched  # noqa: F401
from tests.core.factories import UserFactory
from tests.mall.factories import ProductFactory, category_of
from tests.members.factories import MemberFactory
from tests.referrals.factories import promoter_of
from tests.stores.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


@pytest.fixture
def mall(stores):  # noqa: F811
    """S003's mall: a T-shirt in black and white (stock at the store for pickup), a pair of
    shoes; S003's owner."""
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    tee = ProductFactory(title="纯棉T恤", category=category_of("上衣"), featured=True)
    for sku, colour in [("TEE-BLK-M", "黑色"), ("TEE-WHT-M", "白色")]:
        Sku.objects.create(product=tee, sku=sku, specs={"颜色": colour, "尺码": "M"}, price=99)
    shoes = ProductFactory(title="跑步鞋", category=category_of("鞋履"))
    Sku.objects.create(product=shoes, sku="SHOE-42", specs={"尺码": "42"}, price=399)
    for sku in Sku.objects.all():
        Stock.objects.create(sku=sku, store=stores["S003"], on_hand=20)
    owner = UserFactory(username="owner_S003")
    owner.set_password("demo12345")
    owner.save()
    StaffFactory(user=owner, store=stores["S003"])
    return {"tee": tee, "store": stores["S003"]}


def owner_signs_in(page):
    page.goto("/dashboard/login/")
    page.get_by_label("用户名").fill("owner_S003")
    page.get_by_label("密码").fill("demo12345")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/dashboard/stores/S003/$"))


def test_a_member_buys_for_pickup_in_s003s_mall_picks_up_and_gets_a_line_refunded(
    watched,  # noqa: F811
    mall,
):
    page = watched

    # The catalogue, as a visitor, then signed in
    page.goto("/m/s/S003/")
    expect(page.get_by_role("heading", name="苏州观前加盟店")).to_be_visible()
    expect(page.locator("#featured-list")).to_contain_text("纯棉T恤")
    expect(page.locator("#product-list li")).to_have_count(2)
    accessible(page)
    page.get_by_role("button", name="鞋履").click()
    expect(page.locator("#product-list li")).to_have_count(1)
    expect(page.locator("#product-list")).to_contain_text("跑步鞋")
    page.get_by_role("button", name="全部").click()
    page.get_by_label("搜索商品").fill("T恤")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#product-list li")).to_have_count(1)
    page.get_by_role("link", name="手机号一键入会").click()
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/m/s/S003/"))
    expect(page.locator("#home-store")).to_have_text("欢迎！苏州观前加盟店 是您的归属门店。")
    accessible(page)

    # The product: two colours into the cart
    page.locator("#product-list").get_by_role("link", name=re.compile("纯棉T恤")).click()
    expect(page).to_have_url(re.compile(rf"/m/products/{mall['tee'].pk}\?store=S003$"))
    expect(page.get_by_role("heading", name="纯棉T恤")).to_be_visible()
    expect(page.locator("#product-stock")).to_have_text("有货")
    accessible(page)
    page.get_by_text("白色", exact=True).click()
    page.get_by_role("button", name="加一件").click()
    page.get_by_role("button", name="加入购物车").click()
    expect(page.get_by_role("status")).to_contain_text("购物车共 1 种商品")
    page.get_by_text("黑色", exact=True).click()
    page.get_by_label("数量").fill("1")
    page.get_by_role("button", name="加入购物车").click()
    expect(page.get_by_role("status")).to_contain_text("购物车共 2 种商品，应付 ¥297.00")
    page.get_by_role("link", name="去购物车").click()

    # The cart: one less white, then three black (the quote follows)
    expect(page).to_have_url(re.compile(r"/m/cart$"))
    expect(page.locator("#cart-lines > li")).to_have_count(2)
    accessible(page)
    page.get_by_role("button", name="纯棉T恤 M 白色 减一件").click()
    expect(page.locator("#cart-quote [data-sum=payable]")).to_have_text("¥198.00")
    page.get_by_role("link", name="去结算").click()

    # The checkout: pickup at S003, no coupon, no points: pay in the sandbox
    expect(page).to_have_url(re.compile(r"/m/checkout$"))
    expect(page.get_by_label("到 苏州观前加盟店 自提")).to_be_checked()
    expect(page.locator("#quote [data-sum=shipping_fee]")).to_have_text("¥0.00")
    accessible(page)
    page.get_by_role("button", name="支付 ¥198.00").click()

    expect(page).to_have_url(re.compile(r"/m/orders/S003-"))
    order = Order.objects.get(member__phone="13800000000")
    expect(page.locator("#order-status")).to_have_text("已支付")
    expect(page.locator("#fulfilment-status")).to_have_text("待自提或待发货")
    code = order.fulfilment.pickup_code
    expect(page.locator("#pickup-code")).to_have_text(code)
    expect(page.get_by_role("img", name=f"自提码 {code} 的二维码")).to_be_visible()
    accessible(page)
    assert sorted(order.lines.values_list("sku", "quantity")) == [
        ("TEE-BLK-M", 1),
        ("TEE-WHT-M", 1),
    ]
    assert (order.payable, order.channel) == (Decimal("198.00"), "mall")
    assert Member.objects.get(phone="13800000000").cart.lines.count() == 0
    order_page = page.url

    # S003's owner hands the goods over at the counter
    owner_signs_in(page)
    page.get_by_role("link", name="收银台").click()
    page.get_by_label("自提码").fill(code)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("button", name="交付商品").click()
    expect(page.locator(".messages")).to_contain_text(order.order_no)

    # The member sees it picked up and asks for the white one back
    page.goto(order_page)
    expect(page.locator("#fulfilment-status")).to_have_text("已自提或已收货")
    expect(page.locator("#pickup")).to_be_hidden()
    page.get_by_label("纯棉T恤 M 白色：退几件").select_option("1")
    page.get_by_label("原因").select_option("damaged")
    page.get_by_label("补充说明（选填）").fill("领口开线")
    accessible(page)
    page.get_by_role("button", name="提交退款申请").click()
    expect(page.get_by_role("status")).to_contain_text("退款申请已提交")
    expect(page.locator(".refund-status")).to_have_text("待审核")
    expect(page.locator("#refund-form")).to_be_hidden()
    accessible(page)

    # S003's owner (still signed in) approves it; the member's page shows the refund
    page.goto("/dashboard/stores/S003/")
    page.get_by_role("link", name="售后").click()
    row = page.locator("ul.rows li").first
    expect(row).to_contain_text("领口开线")
    row.get_by_label("给会员的说明").fill("同意退一件")
    row.get_by_role("button", name="同意并退款").click()
    expect(page.locator(".messages")).to_contain_text("已退款")

    page.goto(order_page)
    expect(page.locator(".refund-status")).to_have_text("已退款")
    expect(page.locator("#refunds")).to_contain_text("门店说明：同意退一件")
    expect(page.locator("#refunded")).to_have_text("¥99.00")
    expect(page.locator("#order-status")).to_have_text(re.compile("部分退款"))
    accessible(page)
    asked = RefundRequest.objects.get()
    assert (asked.status, asked.lines) == ("refunded", [{"sku": "TEE-WHT-M", "quantity": 1}])


def test_a_member_has_the_cart_delivered_to_a_new_address_and_says_it_is_received(
    watched,  # noqa: F811
    mall,
):
    """Delivery from HQ's warehouse: a new address at the checkout, its shipping fee in the
    quote; once shipped, the tracking number and "received"."""
    page = watched
    for sku in Sku.objects.all():
        Stock.objects.create(sku=sku, store=None, on_hand=20)
    ShippingRule.objects.create(region="浙江省", fee=Decimal("8"), free_from=Decimal("199"))
    member = MemberFactory(phone="13800000000", home_store=mall["store"])
    cart_replace(member=member, store=mall["store"], lines=[("TEE-BLK-M", 1)])

    # Adding from another store's mall asks first: the cart is of one store's mall
    page.goto(f"/m/login?next=/m/products/{mall['tee'].pk}%3Fstore%3DS002")
    sign_in(page)
    expect(page.get_by_role("heading", name="纯棉T恤")).to_be_visible()
    page.get_by_role("button", name="加入购物车").click()
    expect(page.locator("#other-store")).to_have_text(
        "购物车里是 苏州观前加盟店 的商品：加入这件将换成一个新的购物车。"
    )
    expect(page.get_by_role("button", name="换新购物车并加入")).to_be_enabled()
    assert member.cart.store == mall["store"]

    page.goto("/m/checkout")
    page.get_by_text("快递到我的地址").click()
    expect(page.get_by_text("还没有收货地址：请在下方添加。")).to_be_visible()
    page.get_by_text("添加收货地址").click()
    page.get_by_label("收货人").fill("王小明")
    page.get_by_label("手机号").fill("138 0000 0000")
    page.get_by_label("省/市/区").fill("浙江省/杭州市/西湖区")
    page.get_by_label("详细地址").fill("文三路 100 号")
    page.get_by_role("button", name="保存地址").click()
    expect(page.get_by_label(re.compile("王小明 13800000000"))).to_be_checked()
    expect(page.locator("#quote [data-sum=shipping_fee]")).to_have_text("¥8.00")
    accessible(page)
    page.get_by_role("button", name=re.compile(r"支付 ¥\d+\.\d\d")).click()

    expect(page).to_have_url(re.compile(r"/m/orders/S003-"))
    expect(page.locator("#fulfilment-title")).to_have_text("快递配送")
    expect(page.locator("#address")).to_contain_text("浙江省/杭州市/西湖区 文三路 100 号")
    expect(page.get_by_role("button", name="确认收货")).to_be_hidden()
    order = Order.objects.get(member=member)
    delivery_ship(
        order_id=order.pk,
        ship_from=None,
        carrier="顺丰",
        tracking_no="SF1234567890",
        actor=User.objects.get(username="owner_S003"),
    )

    page.reload()
    expect(page.locator("#fulfilment-status")).to_have_text("已发货")
    expect(page.locator("#tracking")).to_have_text("顺丰 运单号 SF1234567890")
    accessible(page)
    page.get_by_role("button", name="确认收货").click()
    expect(page.get_by_role("status")).to_contain_text("已确认收货")
    expect(page.locator("#fulfilment-status")).to_have_text("已自提或已收货")
    expect(page.get_by_role("button", name="确认收货")).to_be_hidden()


def test_a_signed_in_member_opens_a_promoters_link_and_the_next_order_credits_the_promoter(
    watched,  # noqa: F811
    mall,
):
    """A member who signed in on this phone before opens a promoter's link: nothing to sign
    in to, so the code waits for their next order, which binds them and credits the
    promoter (issue 22); an order after it carries no code again."""
    page = watched
    promoter = promoter_of()
    page.goto("/m/login")
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/m/$"))

    page.goto(f"/m/login?promoter={promoter.member.referral_code}")
    expect(page).to_have_url(re.compile(r"/m/$"))
    assert not PromoterBinding.objects.exists()  # bound by the order, not by the visit

    page.goto(f"/m/products/{mall['tee'].pk}?store=S003")
    page.get_by_text("黑色", exact=True).click()
    page.get_by_role("button", name="加入购物车").click()
    expect(page.get_by_role("status")).to_contain_text("购物车共 1 种商品")
    page.get_by_role("link", name="去购物车").click()
    page.get_by_role("link", name="去结算").click()
    page.get_by_role("button", name="支付 ¥99.00").click()

    expect(page).to_have_url(re.compile(r"/m/orders/S003-"))
    order = Order.objects.get(member__phone="13800000000")
    assert order.promoter == promoter.member
    assert PromoterBinding.objects.get().promoter == promoter.member
    assert page.evaluate("sessionStorage.getItem('huiji.member.promoter')") is None
