"""分销 on a phone: a promoter shares their link, a new member signs up through it and buys;
the promoter's page shows the commission frozen, available once the return window has
passed, half of it taken back by a refund of half the order; the promoter asks to withdraw
it and finance approves the withdrawal in the console; a withdrawal WeChat pays once the
member confirms receipt says how, and inside the mini-program's web-view leads there. The
promoter's page passes axe-core with no serious or critical violation."""

import re
from datetime import timedelta
from decimal import Decimal as D
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from apps.members.credentials import member_token_issue
from apps.members.models import Member, PromoterBinding
from apps.orders.refunds import order_refund
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.models import Withdrawal
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import withdrawal_approve, withdrawal_request
from tests.browser.test_member_centre import PHONE, accessible, sign_in
from tests.core.factories import UserFactory
from tests.referrals.factories import default_rate, promoter_of, sale
from tests.referrals.test_promoter_api import earned_promoter
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


def as_member(page, member):
    """The page signed in as `member`, as if they had signed in on this phone before."""
    page.goto("/m/login")
    page.evaluate(
        "token => localStorage.setItem('huiji.member.token', token)",
        member_token_issue(member=member),
    )


def figures(page) -> tuple[str, str, str]:
    page.goto("/m/promoter")
    expect(page.locator("#link")).not_to_have_value("")
    return tuple(page.locator(f"#{name}").inner_text() for name in ("frozen", "available", "debt"))


def test_a_shared_link_brings_a_buyer_whose_commission_is_frozen_then_paid_out(
    chromium, live_server
):
    default_rate(10, 0)
    store = StoreFactory(code="S001")
    promoter = promoter_of()
    sharer = chromium.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    sharer.set_default_timeout(10_000)
    page = sharer.new_page()

    # The promoter finds their link and poster, and shares the link
    as_member(page, promoter.member)
    page.goto("/m/")
    page.get_by_role("link", name=re.compile("推广赚佣金")).click()
    expect(page).to_have_url(re.compile(r"/m/promoter$"))
    expect(page.locator("#promoter-status")).to_have_text("您是推广员：快分享您的链接吧。")
    expect(page.get_by_role("img", name=re.compile("推广海报"))).to_be_visible()
    accessible(page)
    link = page.locator("#link").input_value()
    assert link.endswith(f"/m/login?promoter={promoter.member.referral_code}")

    # A new member opens it on their phone, signs up and buys
    friends_phone = chromium.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    friends_phone.set_default_timeout(10_000)
    friend = friends_phone.new_page()
    shared = urlsplit(link)
    friend.goto(f"{shared.path}?{shared.query}")
    sign_in(friend)
    expect(friend).to_have_url(re.compile(r"/m/$"))
    buyer = Member.objects.get(phone=PHONE)
    assert PromoterBinding.objects.get(member=buyer).promoter == promoter.member
    order = sale(store, buyer, [("TEE", 1, "100")])
    commissions_write(order_id=order.pk)

    assert figures(page) == ("¥10.00", "¥0.00", "¥0.00")
    expect(page.locator("#customers-count")).to_have_text("1")
    expect(page.locator("#commission-list li")).to_contain_text(order.order_no)

    # The return window passes: it is available; a refund of half the order takes half back
    commissions_release_due(now=order.paid_at + timedelta(days=30))
    assert figures(page) == ("¥0.00", "¥10.00", "¥0.00")
    refund = order_refund(order=order, refund_id="half", amount=D("50.00"))
    commissions_reverse(refund_id=refund.pk)
    assert figures(page) == ("¥0.00", "¥5.00", "¥0.00")

    # More than is available is refused; what is available is asked for
    page.get_by_label("金额（元）").fill("6")
    page.get_by_role("button", name="申请提现").click()
    expect(page.get_by_role("status")).to_contain_text("可提现金额仅为 5.00 元。")
    page.get_by_label("金额（元）").fill("5")
    page.get_by_role("button", name="申请提现").click()
    expect(page.get_by_role("status")).to_contain_text("已申请提现 ¥5.00")
    expect(page.locator("#available")).to_have_text("¥0.00")
    expect(page.locator("#withdrawal-list li")).to_contain_text("已申请")
    accessible(page)

    # Finance approves it in the console: the sandbox pays it out
    finance = UserFactory(username="finance", is_staff=True, is_superuser=True)
    finance.set_password("demo12345")
    finance.save()
    desk = chromium.new_context(base_url=live_server.url, locale="zh-CN")
    console = desk.new_page()
    console.goto("/admin/login/?next=/admin/referrals/withdrawal/")
    console.get_by_label("用户名").fill("finance")
    console.get_by_label("密码").fill("demo12345")
    console.get_by_role("button", name="登录").click()
    console.locator("input[name=_selected_action]").first.check()
    console.locator("select[name=action]").select_option("approve_withdrawal")
    console.locator("button[name=index], input[name=index]").first.click()
    expect(console.locator(".messagelist")).to_contain_text("已支付")

    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.status, withdrawal.amount, withdrawal.decided_by) == (
        "paid",
        D("5.00"),
        finance,
    )
    page.goto("/m/promoter")
    expect(page.locator("#withdrawal-list li")).to_contain_text("已支付")
    assert commission_problems() == {}
    for context in (sharer, friends_phone, desk):
        context.close()


def test_a_withdrawal_awaiting_confirmation_in_wechat_says_how_and_leads_there(phone, settings):
    settings.PAYOUT_BACKEND = "tests.referrals.test_promoter_api.ConfirmedLaterPayoutBackend"
    promoter, _order = earned_promoter()
    asked = withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")
    assert withdrawal_approve(withdrawal=asked, actor=UserFactory()).status == "confirming"
    as_member(phone, promoter.member)

    # In a browser: the state and what to do, nothing to tap
    phone.goto("/m/promoter")
    waiting = phone.locator("#withdrawal-list li")
    expect(waiting).to_contain_text("待确认收款")
    expect(waiting).to_contain_text("请在微信中打开我们的小程序，于 24 小时内确认收款。")
    expect(waiting.get_by_role("button")).to_have_count(0)
    accessible(phone)

    # In the mini-program's web-view, with WeChat's JS SDK: a way to its page
    phone.add_init_script(
        "window.__wxjs_environment = 'miniprogram';"
        "window.wx = {miniProgram: {navigateTo: (o) => { window.wentTo = o.url; }}};"
    )
    phone.goto("/m/promoter")
    phone.get_by_role("button", name="前往小程序确认收款").click()
    assert phone.evaluate("window.wentTo") == "/pages/promoter/withdrawals"


def test_a_member_applies_and_waits_for_hq(phone):
    member = Member.objects.create(phone="13900001111")
    as_member(phone, member)

    phone.goto("/m/promoter")
    accessible(phone)
    phone.get_by_role("button", name="申请成为推广员").click()

    expect(phone.get_by_role("status")).to_have_text("申请已提交，总部将尽快审核。")
    expect(phone.locator("#promoter-status")).to_have_text("您的申请正在等待总部审核。")
    expect(phone.locator("#share")).to_be_hidden()
    accessible(phone)
    assert member.promoter.status == "applied"
