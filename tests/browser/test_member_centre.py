"""A member's journey through the member web centre (/m/) on a phone: scan a store's QR
link, sign in with a texted code, see the card and its member code (which a till accepts),
claim a coupon with a double tap, see it in the wallet, sign out. Every page passes axe-core
with no serious or critical violation, breaks no rule of its Content-Security-Policy and
asks nothing of another origin."""

import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from apps.coupons.models import Coupon
from apps.members.models import Member, MemberToken, StoreVisit
from apps.orders.checkout import Checkout, order_place_paid
from apps.orders.pricing import LineInput
from apps.points.models import EarningRule
from apps.points.services import points_earn
from apps.referrals.models import Referral
from apps.referrals.rewards import referral_record
from apps.stores.models import Staff, Store
from apps.tiers.models import GrowthEntry, MemberTier, Tier, TierChannelBenefit
from apps.tiers.services import growth_earn
from tests.coupons.factories import CouponTemplateFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db(transaction=True)

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PHONE, CODE = "13800000000", "123456"  # SMS_TEST_CODES of the test settings


@pytest.fixture
def stores():
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    gold = Tier.objects.create(
        code="gold",
        name="黄金会员",
        rank=1,
        growth_threshold=5000,
        discount_percent=Decimal("5"),
        points_multiplier=Decimal("1.2"),
        birthday_gift="生日礼券 20 元",
    )
    TierChannelBenefit.objects.create(tier=gold, channel="store", discount_percent=Decimal("8"))
    Tier.objects.create(code="platinum", name="铂金会员", rank=2, growth_threshold=12000)
    s002 = StoreFactory(code="S002", name="杭州湖滨加盟店", kind=Store.Kind.FRANCHISE)
    s003 = StoreFactory(code="S003", name="苏州观前加盟店", kind=Store.Kind.FRANCHISE)
    guide = StaffFactory(store=s002, role=Staff.Role.GUIDE)
    return {"S002": s002, "S003": s003, "guide": guide}


@pytest.fixture
def watched(phone, live_server):
    """The phone page, with every request to another origin and every CSP report kept."""
    elsewhere, violations = [], []
    origin = live_server.url

    def on_request(request):
        if not request.url.startswith((origin, "blob:", "data:")):
            elsewhere.append(request.url)

    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    phone.on("request", on_request)
    phone.on("console", on_console)
    yield phone
    assert elsewhere == []
    assert violations == []


def accessible(page):
    """axe-core on the page as it is now: no serious or critical violation; and no control
    smaller than a thumb."""
    page.evaluate(AXE)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
    )
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(bad, ensure_ascii=False)
    assert small_targets(page) == []


# Every control a thumb must hit is 44 px high or more; a check box counts by its label,
# and a link inside a sentence is the sentence's (WCAG 2.5.8's inline exception).
SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, input, select, textarea')]
  .filter(e => e.offsetParent !== null && e.type !== 'hidden')
  .filter(e => !(e.tagName === 'A' && e.parentElement.closest('p, li') &&
                 e.parentElement.closest('p, li').textContent.trim() !== e.textContent.trim()))
  .map(e => ['checkbox', 'radio'].includes(e.type) && e.closest('label') ? e.closest('label') : e)
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, box]) => box.width > 0 && box.height < 44)
  .map(([e, box]) => `${e.tagName} "${e.textContent.trim().slice(0, 20)}" ${box.height}`)
"""


def small_targets(page) -> list[str]:
    return page.evaluate(SMALL_TARGETS)


def sign_in(page, code=CODE):
    page.get_by_label("手机号", exact=True).fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_role("status")).to_contain_text("验证码已发送")
    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("我同意").check()
    page.get_by_role("button", name="登录", exact=True).click()


def test_a_new_member_joins_from_a_store_qr_and_keeps_that_home_store(watched, stores):
    page = watched
    guide_code = stores["guide"].guide_code
    page.goto(f"/s/S002/?guide={guide_code}")

    expect(page).to_have_url(re.compile(rf"/m/s/S002/\?guide={guide_code}$"))
    expect(page.get_by_role("heading", name="杭州湖滨加盟店")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="手机号一键入会").click()

    expect(page).to_have_url(re.compile(r"/m/login\?"))
    accessible(page)
    sign_in(page)

    expect(page).to_have_url(re.compile(r"/m/s/S002/"))
    expect(page.locator("#home-store")).to_have_text("欢迎！杭州湖滨加盟店 是您的归属门店。")
    member = Member.objects.get(phone=PHONE)
    assert member.home_store.code == "S002"
    assert member.guide == stores["guide"]
    assert StoreVisit.objects.filter(member=member).count() == 1
    accessible(page)

    page.goto("/s/S003/")
    expect(page.locator("#home-store")).to_have_text(
        "您的归属门店仍是 杭州湖滨加盟店，本次到店已记录。"
    )
    member.refresh_from_db()
    assert member.home_store.code == "S002"
    assert list(
        StoreVisit.objects.filter(member=member)
        .values_list("store__code", flat=True)
        .order_by("pk")
    ) == ["S002", "S003"]


def test_the_card_shows_a_code_the_till_accepts_and_a_coupon_claimed_twice_fast_is_one(
    watched, stores
):
    page = watched
    flash = CouponTemplateFactory(
        name="限量闪券",
        kind="cash",
        threshold=None,
        amount=10,
        total_stock=100,
        per_member_limit=2,
        channels="store",
        description="不与其他优惠同享",
    )
    flash.usable_stores.add(stores["S002"])
    page.clock.install()
    page.goto("/m/")
    expect(page).to_have_url(re.compile(r"/m/login\?next=%2Fm%2F$"))
    sign_in(page)

    expect(page).to_have_url(re.compile(r"/m/$"))
    expect(page.locator("#tier-name")).to_have_text("普通会员")
    # joining gave 100 of gold's 5,000
    expect(page.locator("#growth")).to_have_text("再获得 4900 成长值升级为 黄金会员")
    expect(page.locator("#benefits")).to_have_text("累积成长值，升级即享更多权益。")
    expect(page.locator("#keep")).to_have_text("")  # the first tier is never lost
    expect(page.locator("#points-available")).to_have_text("0")
    digits = page.locator("#digits")
    expect(digits).to_have_text(re.compile(r"^6\d{3}( \d{4}){3} \d{2}$"))
    expect(page.locator("#qr")).to_have_attribute("src", re.compile(r"^blob:"))
    assert page.locator("#barcode").evaluate("c => c.width") > 200
    accessible(page)
    first = digits.inner_text()
    page.clock.fast_forward("01:50")  # 15 s before the code's 120 s are up: a new one
    expect(digits).not_to_have_text(first)
    member_code = digits.inner_text().replace(" ", "")
    till = Client().post(
        "/api/pos/v1/members/identify",
        {"member_code": member_code},
        content_type="application/json",
        headers={"authorization": f"Api-Key {pos_key_for(stores['S002'])}"},
    )
    assert till.status_code == 200
    assert till.json()["phone_masked"] == "138****0000"

    page.get_by_role("link", name="优惠券").click()
    expect(page.get_by_text("这里还没有优惠券。")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="领取更多优惠券").click()
    offered = page.locator(f"[data-template='{flash.pk}']")
    expect(offered).to_contain_text("立减 10 元")
    expect(offered).to_contain_text("适用渠道：门店 · 仅限门店：杭州湖滨加盟店")
    expect(offered).to_contain_text("不与其他优惠同享")
    expect(offered).to_contain_text("领取后 30 天内有效")
    claim = offered.locator("button")
    expect(claim).to_be_enabled()
    accessible(page)
    # the first claim's answer is held back while the member taps on, as on a slow network
    claims, waiting, sent = re.compile(r"/api/v1/coupons/\d+/claim$"), [], []
    page.on("request", lambda request: claims.search(request.url) and sent.append(request))
    page.route(claims, lambda route: waiting.append(route))
    claim.evaluate("button => { button.click(); button.click(); }")
    while not waiting:
        page.wait_for_timeout(20)
    claim.dblclick(force=True)
    waiting[0].continue_()

    expect(page.get_by_role("status")).to_have_text("已领取，已放入您的券包。")
    expect(page.locator(f"[data-template='{flash.pk}']")).to_contain_text("已领 1 张")
    member = Member.objects.get(phone=PHONE)
    assert Coupon.objects.filter(member=member, template=flash).count() == 1
    assert len(sent) == 1

    page.get_by_role("link", name="我的优惠券").click()
    coupon = Coupon.objects.get(member=member)
    shown = page.locator(f"li[data-code='{coupon.code}']")
    expect(shown).to_contain_text("限量闪券")
    expect(shown).to_contain_text("立减 10 元")
    expect(shown.locator(".where")).to_have_text("适用渠道：门店 · 仅限门店：杭州湖滨加盟店")
    expect(shown.locator(".terms")).to_have_text("不与其他优惠同享")
    ends = coupon.valid_until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y/%m/%d")
    expect(shown.locator(".ends")).to_have_text(f"有效期至 {ends}")
    expect(shown.locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
    accessible(page)


def test_a_gold_members_card_shows_the_benefits_and_what_keeps_gold(watched, stores):
    member = MemberFactory(phone=PHONE)
    now = timezone.now()
    for days_ago, amount in [(330, 3000), (100, 2500)]:  # gold 100 days ago, at 5,500
        growth_earn(
            member=member,
            amount=amount,
            kind=GrowthEntry.Kind.ADJUST,
            cause_kind=GrowthEntry.CauseKind.ADMIN,
            key=f"history-{days_ago}",
            description="历史消费成长值",
            now=now - timedelta(days=days_ago),
        )
    review_on = MemberTier.objects.get(member=member).review_on
    page = watched
    page.goto("/m/")
    sign_in(page)

    expect(page.locator("#tier-name")).to_have_text("黄金会员")
    expect(page.locator("#benefits li")).to_have_text(
        [
            "会员优惠 5%",
            "门店优惠 8%",
            "消费积分 1.2 倍",
            "生日礼：生日礼券 20 元",
        ]
    )
    expect(page.locator("#growth")).to_have_text("再获得 6500 成长值升级为 铂金会员")
    # at the review the 3,000 of 330 days ago has left the window: 2,500 of 5,000 counts
    expect(page.locator("#keep")).to_have_text(
        f"{review_on:%Y/%m/%d} 前再获得 2500 成长值即可保级黄金会员"
    )
    accessible(page)


def test_signing_out_kills_the_token(watched, stores):
    page = watched
    page.goto("/m/me")
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/m/me$"))
    expect(page.locator("#phone")).to_have_text("138****0000")
    accessible(page)
    token = page.evaluate("localStorage.getItem('huiji.member.token')")
    assert MemberToken.objects.count() == 1

    page.get_by_role("button", name="退出登录").click()

    expect(page).to_have_url(re.compile(r"/m/login$"))
    assert page.evaluate("localStorage.getItem('huiji.member.token')") is None
    gone = Client().get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_points_page_empty_and_store_not_found(watched, stores):
    page = watched
    page.goto("/m/points")
    sign_in(page, code="000000")
    expect(page.get_by_role("status")).to_have_text("验证码错误或已过期，请重新获取。")
    assert not MemberToken.objects.exists()
    page.get_by_label("短信验证码").fill(CODE)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_text("还没有积分记录。")).to_be_visible()
    accessible(page)

    page.goto("/m/s/S999/")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("button", name="重试")).to_be_visible()
    accessible(page)


def test_the_checks_themselves_catch_a_violation(phone):
    """The accessibility check fails on an image without words, and an inline script is
    refused by the pages' policy: the checks above can fail."""
    refused = []
    phone.on("console", lambda message: refused.append(message.text))
    phone.goto("/m/login")
    phone.evaluate(
        "() => { const i = document.createElement('img'); i.src = 'data:,'; "
        "document.querySelector('main').append(i); "
        "const s = document.createElement('script'); s.textContent = 'window.ran = 1'; "
        "document.body.append(s); }"
    )

    with pytest.raises(AssertionError, match="image-alt"):
        accessible(phone)
    assert phone.evaluate("window.ran") is None
    assert any("Content Security Policy" in text for text in refused)


def test_a_member_fills_the_profile_once_and_closes_the_account(watched, stores):
    page = watched
    page.goto("/m/me")
    sign_in(page)
    page.get_by_label("姓名").fill("李青")
    page.get_by_label("性别").select_option("female")
    page.get_by_label("生日").fill("1990-05-20")
    page.get_by_label("接收优惠和活动消息").check()
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_role("status")).to_have_text("已保存。")
    expect(page.get_by_label("生日")).to_be_disabled()  # once only
    member = Member.objects.get(phone=PHONE)
    assert (member.name, member.gender, str(member.birthday), member.marketing_consent) == (
        "李青",
        "female",
        "1990-05-20",
        True,
    )
    token = page.evaluate("localStorage.getItem('huiji.member.token')")

    page.get_by_text("注销账号").first.click()  # opens the warning
    expect(page.get_by_text("积分和优惠券将全部失去")).to_be_visible()
    accessible(page)
    close = page.get_by_role("button", name="注销账号")
    expect(close).to_be_disabled()
    page.get_by_label("我已了解注销后无法恢复").check()
    close.click()

    expect(page).to_have_url(re.compile(r"/m/login$"))
    member.refresh_from_db()
    assert member.status == Member.Status.DELETED and member.phone is None
    assert page.evaluate("localStorage.getItem('huiji.member.token')") is None
    gone = Client().get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_a_browser_in_english_gets_the_pages_in_english(chromium, live_server, stores):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, locale="en-US"
    )
    page = context.new_page()
    try:
        page.goto("/m/s/S003/")
        expect(page.get_by_role("link", name="Join with my phone")).to_be_visible()
        page.get_by_role("link", name="Join with my phone").click()
        page.get_by_label("Mobile number").fill("139")
        page.get_by_label("Code from the text message").fill(CODE)
        page.get_by_role("checkbox").check()
        page.get_by_role("button", name="Sign in", exact=True).click()

        expect(page.get_by_role("status")).to_contain_text("mainland")
        assert page.evaluate("document.body.scrollWidth") <= 360
        accessible(page)
    finally:
        context.close()


def test_a_member_reads_the_points_history_and_an_order(watched, stores):
    page = watched
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=Decimal("99"))
    page.goto("/m/orders")
    sign_in(page)
    expect(page.get_by_text("还没有订单。")).to_be_visible()
    accessible(page)
    order = order_place_paid(
        checkout=Checkout(
            store=stores["S002"],
            channel="pos",
            member=Member.objects.get(phone=PHONE),
            lines=[LineInput(sku="TEE", quantity=2, unit_price=Decimal("99"))],
        ),
        external_id="TILL-1",
    )

    page.reload()
    page.get_by_role("link", name=re.compile("杭州湖滨加盟店")).click()

    expect(page).to_have_url(re.compile(rf"/m/orders/{order.order_no}$"))
    expect(page.locator("#lines")).to_contain_text("T恤 × 2")
    expect(page.locator("#payable")).to_have_text("¥198.00")
    expect(page.locator("#earned")).to_have_text("本单获得 198 积分")
    accessible(page)
    member = Member.objects.get(phone=PHONE)
    for day in range(20):
        points_earn(
            member=member,
            amount=5,
            key=f"gift-{day}",
            cause_kind="admin",
            description="签到礼",
            pending=False,
        )
    page.goto("/m/points")
    expect(page.locator("#entries li")).to_have_count(20)  # a page
    accessible(page)
    page.get_by_role("button", name="加载更多").click()
    expect(page.locator("#entries li")).to_have_count(21)
    expect(page.locator("#entries li").last).to_contain_text("+198")
    expect(page.get_by_role("button", name="加载更多")).to_be_hidden()


def test_a_friend_signing_up_by_a_referral_link_is_recorded_with_this_browsers_device(
    watched, stores
):
    referrer = MemberFactory(phone="13900000088")
    page = watched
    sent = []
    page.on(
        "request",
        lambda request: (
            request.url.endswith("/api/v1/auth/login")
            and sent.append(request.post_data_json["device_id"])
        ),
    )
    page.goto(f"/m/login?ref={referrer.referral_code}")
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/m/$"))

    device = page.evaluate("localStorage.getItem('huiji.device')")
    assert re.fullmatch(r"[0-9a-f-]{36}", device)
    referral = Referral.objects.get(referee__phone=PHONE)
    assert (referral.referrer, referral.device) == (referrer, device)

    # Signed out and in again, the browser sends the same id. The home page's reads end
    # first: one still in flight would meet the removed token and go to the login page
    # itself, aborting the visit below.
    page.wait_for_load_state("networkidle")
    page.evaluate("localStorage.removeItem('huiji.member.token')")
    page.goto("/m/login")
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/m/$"))
    assert sent == [device, device]


def test_the_card_shows_my_referral_link_and_the_friends_it_brought(watched, stores):
    member = MemberFactory(phone=PHONE)
    friend = MemberFactory(phone="13900000077", referrer=member)
    referral_record(referee_id=friend.pk, referrer_id=member.pk)
    page = watched
    page.goto("/m/")
    sign_in(page)

    expect(page.locator("#invite-link")).to_have_value(
        re.compile(rf"/m/login\?ref={member.referral_code}$")
    )
    expect(page.locator("#invite-count")).to_have_text("已有 1 位好友通过你的链接加入")
    expect(page.locator("#invited li")).to_have_text(
        [re.compile(r"^139\*\*\*\*0077 · .* · 尚未首单$")]
    )
    poster = page.locator("#invite-poster")  # read with the token, shown as a blob: URL
    expect(poster).to_be_visible()
    assert poster.evaluate("image => image.complete && image.naturalWidth") == 750
    accessible(page)
