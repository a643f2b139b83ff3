"""Counter tools: identify a member, redeem a coupon, record a sale through the same
quote and order services as the POS API."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core import roles
from apps.core.errors import DomainError
from apps.core.sms import LocmemSmsBackend
from apps.coupons.issuing import coupon_claim
from apps.coupons.models import Coupon
from apps.members.credentials import member_code_issue
from apps.members.models import MemberCode, MemberOtp
from apps.orders.checkout import order_place_paid
from apps.orders.models import Order
from apps.points.models import EarningRule
from apps.points.selectors import points_available
from apps.points.services import points_earn
from apps.stores.models import Store
from apps.tiers.models import Tier
from tests.core.factories import UserFactory
from tests.core.test_admin_roles import role_user
from tests.coupons.factories import CouponTemplateFactory
from tests.dashboards.test_overview import person
from tests.distributors.factories import DistributorFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def shop():
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=D("99"))
    store, elsewhere = StoreFactory(code="S001"), StoreFactory(code="S002")
    member = MemberFactory(phone="13900001111", name="王安", home_store=store)
    points_earn(
        member=member, amount=5000, key="seed", cause_kind="admin", description="t", pending=False
    )
    coupon = coupon_claim(template=CouponTemplateFactory(name="满100减20"), member=member)
    return {"store": store, "elsewhere": elsewhere, "member": member, "coupon": coupon}


@pytest.fixture
def clerk(client, shop):
    return person(client, store=shop["store"], role="clerk")


def identify(clerk, who):
    return clerk.post("/dashboard/stores/S001/counter/identify/", {"who": who}, follow=True)


def sale(clerk, page, lines, *, action="record", **fields):
    form = {
        "key": page.context["sale_form"]["key"].value(),
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        action: "1",
        **fields,
    }
    for n, (sku, quantity, price) in enumerate(lines):
        form.update({f"lines-{n}-sku": sku, f"lines-{n}-quantity": quantity})
        form[f"lines-{n}-unit_price"] = price
    for n in range(len(lines), 3):
        form.update({f"lines-{n}-sku": "", f"lines-{n}-quantity": "1"})
    return clerk.post("/dashboard/stores/S001/counter/sale/", form, follow=True)


def test_identify_by_phone_shows_tier_points_and_coupon_titles_not_codes(clerk, shop):
    page = identify(clerk, "139 0000 1111")

    assert page.context["member"] == shop["member"]
    assert page.context["member_points"] == 5000
    assert [c.code for c in page.context["member_coupons"]] == [shop["coupon"].code]
    html = page.content.decode()
    assert "139****1111" in html and "13900001111" not in html and "满100减20" in html
    assert shop["coupon"].code not in html  # spent by its code, which only its holder shows


def test_identify_by_member_code_and_unknown_people(clerk, shop):
    code, _expires = member_code_issue(member=shop["member"])

    page = identify(clerk, code)
    assert page.context["member"] == shop["member"]
    assert shop["coupon"].code in page.content.decode()  # the member showed their phone
    clerk.post("/dashboard/stores/S001/counter/forget/")
    unknown = identify(clerk, "13800000000")
    assert unknown.context["member"] is None
    assert "未找到会员" in unknown.content.decode()
    assert identify(clerk, "NOT-A-CODE").context["member"] is None


def test_the_served_member_is_kept_per_store(client, shop):
    dealer = DistributorFactory()
    StoreFactory(code="S003", distributor=dealer)
    Store.objects.filter(code="S001").update(distributor=dealer)
    manager = person(client, store=None, distributor=dealer, role="manager")

    identify(manager, "13900001111")

    assert manager.get("/dashboard/stores/S001/counter/").context["member"] == shop["member"]
    assert manager.get("/dashboard/stores/S003/counter/").context["member"] is None


COUNTER = "/dashboard/stores/S001/counter/"
NOT_AT_TILL = "只有本店的店主、店长、店员和导购可以使用收银台"


def counter_forms(client, shop):
    """Every form the counter takes, sent once each: the status of each."""
    code, _expires = member_code_issue(member=shop["member"])
    page_key = "k-outsider"
    lines = {
        "key": page_key,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-sku": "TEE",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "",
        "record": "1",
    }
    return {
        "identify by phone": client.post(f"{COUNTER}identify/", {"who": "13900001111"}),
        "identify by code": client.post(f"{COUNTER}identify/", {"who": code}),
        "text a code": client.post(f"{COUNTER}otp/"),
        "redeem": client.post(f"{COUNTER}redeem/", {"code": shop["coupon"].code}),
        "sale": client.post(f"{COUNTER}sale/", lines),
        "forget": client.post(f"{COUNTER}forget/"),
    }


def assert_nothing_happened(shop):
    assert not Order.objects.exists()
    assert Coupon.objects.get().status == "available"
    assert not MemberOtp.objects.exists() and LocmemSmsBackend.outbox == []
    assert MemberCode.objects.get().used_at is None
    assert points_available(shop["member"]) == 5000


@pytest.mark.parametrize("role", [*roles.HQ_ROLES, "superuser"])
def test_hq_may_read_the_counter_but_not_work_it(client, shop, role):
    LocmemSmsBackend.outbox.clear()
    user = UserFactory(is_staff=True, is_superuser=True) if role == "superuser" else role_user(role)
    client.force_login(user)

    page = client.get(COUNTER)
    sent = counter_forms(client, shop)

    assert page.status_code == 200 and NOT_AT_TILL in page.content.decode()
    assert 'name="who"' not in page.content.decode()  # no form to fill in
    assert {name: r.status_code for name, r in sent.items()} == dict.fromkeys(sent, 403)
    for response in sent.values():
        assert NOT_AT_TILL in response.content.decode()
        assert "王安" not in response.content.decode()  # nothing learnt of the member
    assert client.get(COUNTER).context["member"] is None
    assert_nothing_happened(shop)


def test_the_refusal_is_in_english_for_an_english_browser(client, shop):
    client.force_login(role_user(roles.MARKETING))

    page = client.get(COUNTER, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Only the store&#x27;s owners, managers, clerks and guides work its counter" in page


def test_another_stores_owner_gets_404_from_every_counter_form(client, shop):
    LocmemSmsBackend.outbox.clear()
    person(client, store=shop["elsewhere"], role="owner")

    sent = counter_forms(client, shop)

    assert client.get(COUNTER).status_code == 404
    assert {name: r.status_code for name, r in sent.items()} == dict.fromkeys(sent, 404)
    assert_nothing_happened(shop)


@pytest.mark.parametrize("place", ["store", "dealer"])
@pytest.mark.parametrize("role", ["owner", "manager", "clerk", "guide"])
def test_the_stores_and_its_dealers_people_work_the_counter(client, shop, place, role):
    if place == "dealer":
        dealer = DistributorFactory()
        Store.objects.filter(pk=shop["store"].pk).update(distributor=dealer)
        person(client, store=None, distributor=dealer, role=role)
    else:
        person(client, store=shop["store"], role=role)

    page = identify(client, "13900001111")
    recorded = sale(client, page, [("TEE", "1", "")])

    assert NOT_AT_TILL not in page.content.decode()
    assert page.context["member"] == shop["member"]
    assert recorded.context["receipt"].member == shop["member"]


def test_redeem_a_coupon_by_code_once(clerk, shop):
    code = shop["coupon"].code

    done = clerk.post("/dashboard/stores/S001/counter/redeem/", {"code": code.lower()}, follow=True)
    again = clerk.post("/dashboard/stores/S001/counter/redeem/", {"code": code}, follow=True)

    coupon = Coupon.objects.get()
    assert (coupon.status, coupon.used_store) == ("used", shop["store"])
    assert "满100减20" in done.content.decode()
    assert "已使用" in again.content.decode()


def test_record_a_sale_with_member_coupon_and_points(clerk, shop):
    member_code, _expires = member_code_issue(member=shop["member"])
    page = identify(clerk, member_code)  # shown: the member is here to use points
    lines = [("TEE", "2", ""), ("MUG", "1", "30.00")]
    code = shop["coupon"].code

    quoted = sale(clerk, page, lines, action="quote", coupon_codes=code, points="1000")
    recorded = sale(clerk, quoted, lines, coupon_codes=code, points="1000")
    sale(clerk, quoted, lines, coupon_codes=code, points="1000")  # the same form sent twice

    assert quoted.context["quote"]["payable"] == D("198.00")  # 228 − 20 − 10
    order = Order.objects.get()
    assert (order.channel, order.member, order.status) == ("pos", shop["member"], "paid")
    assert (order.subtotal, order.payable, order.points_used) == (D("228.00"), D("198.00"), 1000)
    assert Coupon.objects.get().status == "used"
    assert points_available(shop["member"]) == 4000
    assert recorded.context["receipt"] == order and order.order_no in recorded.content.decode()
    assert recorded.context["member"] is None  # the next customer starts afresh


def test_a_sale_without_a_member_earns_nothing(clerk, shop):
    page = clerk.get("/dashboard/stores/S001/counter/")

    sale(clerk, page, [("TEE", "1", "")], points="500")

    order = Order.objects.get()
    assert (order.member, order.payable, order.points_used, order.points_earned) == (
        None,
        D("99.00"),
        0,
        0,
    )


def test_an_unknown_item_without_a_price_records_nothing(clerk, shop):
    page = clerk.get("/dashboard/stores/S001/counter/")

    refused = sale(clerk, page, [("TEE", "1", ""), ("NOPE", "1", "")])

    assert refused.status_code == 400 and "NOPE" in refused.content.decode()
    assert not Order.objects.exists()


def test_another_stores_counter_answers_404(clerk, shop):
    assert clerk.get("/dashboard/stores/S002/counter/").status_code == 404
    response = clerk.post("/dashboard/stores/S002/counter/redeem/", {"code": shop["coupon"].code})
    assert response.status_code == 404 and Coupon.objects.get().status == "available"


@pytest.mark.parametrize("role", ["guide", "clerk", "manager", "owner"])
def test_store_people_find_only_their_own_stores_members_by_phone(client, shop, role):
    person(client, store=shop["store"], role=role)
    MemberFactory(phone="13900002222", home_store=shop["elsewhere"])
    MemberFactory(phone="13900003333", home_store=None)
    code, _expires = member_code_issue(member=MemberFactory(home_store=shop["elsewhere"]))

    others = [identify(client, phone) for phone in ("13900002222", "13900003333")]
    own = identify(client, "13900001111")
    client.post("/dashboard/stores/S001/counter/forget/")
    shown = identify(client, code)

    for page in others:  # answered as an unknown number: nothing learnt of the brand's members
        assert page.context["member"] is None and "未找到会员" in page.content.decode()
    assert own.context["member"] == shop["member"]
    assert shown.context["member"].phone_masked == MemberCode.objects.get().member.phone_masked


def test_hq_staff_who_also_work_a_till_find_only_their_stores_members_by_phone(client, shop):
    hq_clerk = UserFactory(is_staff=True, is_superuser=True)
    StaffFactory(user=hq_clerk, store=shop["store"], role="clerk")
    client.force_login(hq_clerk)
    MemberFactory(phone="13900002222", home_store=shop["elsewhere"])

    assert identify(client, "13900002222").context["member"] is None
    assert identify(client, "13900001111").context["member"] == shop["member"]


def test_points_of_a_member_found_by_phone_need_their_code(clerk, shop):
    page = identify(clerk, "13900001111")

    quoted = sale(clerk, page, [("TEE", "1", "")], action="quote", points="1000")
    refused = sale(clerk, page, [("TEE", "1", "")], points="1000")

    for response in (quoted, refused):
        assert response.status_code == 400
        assert "使用积分需会员本人在场" in response.content.decode()
    assert not Order.objects.exists() and points_available(shop["member"]) == 5000


def test_a_member_found_by_phone_earns_without_a_code(clerk, shop):
    page = identify(clerk, "13900001111")

    sale(clerk, page, [("TEE", "1", "")])

    order = Order.objects.get()
    assert (order.member, order.points_used, order.points_earned) == (shop["member"], 0, 99)


def test_a_member_found_by_phone_uses_points_with_the_code_texted_to_them(
    clerk, shop, django_capture_on_commit_callbacks
):
    LocmemSmsBackend.outbox.clear()
    page = identify(clerk, "13900001111")
    with django_capture_on_commit_callbacks(execute=True):
        texted = clerk.post("/dashboard/stores/S001/counter/otp/", follow=True)
    ((phone, message),) = LocmemSmsBackend.outbox
    code = re.search(r"(?<!\d)\d{6}(?!\d)", message).group()
    wrong = "000000" if code != "000000" else "111111"

    refused = sale(clerk, page, [("TEE", "1", "")], points="1000", member_proof=wrong)
    recorded = sale(clerk, page, [("TEE", "1", "")], points="1000", member_proof=code)

    assert phone == "13900001111" and "139****1111" in texted.content.decode()
    assert refused.status_code == 400
    assert recorded.context["receipt"].points_used == 1000
    assert points_available(shop["member"]) == 4000
    assert MemberOtp.objects.get().used_at is not None


def test_a_member_code_typed_at_the_sale_must_be_the_served_members(clerk, shop):
    page = identify(clerk, "13900001111")
    someone_else, _expires = member_code_issue(member=MemberFactory())
    own, _expires = member_code_issue(member=shop["member"])

    refused = sale(clerk, page, [("TEE", "1", "")], points="1000", member_proof=someone_else)
    recorded = sale(clerk, page, [("TEE", "1", "")], points="1000", member_proof=own)

    assert refused.status_code == 400 and "该会员码属于另一位会员" in refused.content.decode()
    assert recorded.context["receipt"].points_used == 1000
    assert MemberCode.objects.filter(used_at__isnull=False).count() == 1


def test_an_expired_scanned_code_does_not_stop_a_sale_that_only_earns(clerk, shop):
    code, _expires = member_code_issue(member=shop["member"])
    page = identify(clerk, code)
    MemberCode.objects.update(expires_at=timezone.now())

    recorded = sale(clerk, page, [("TEE", "1", "")])
    order = Order.objects.get()

    assert recorded.context["receipt"] == order and order.member == shop["member"]
    assert MemberCode.objects.get().used_at is None


def test_a_sale_that_only_earns_spends_the_member_code_that_identified_the_member(clerk, shop):
    code, _expires = member_code_issue(member=shop["member"])
    page = identify(clerk, code)
    quoted = sale(clerk, page, [("TEE", "1", "")], action="quote")
    assert MemberCode.objects.get().used_at is None  # a quote spends nothing

    sale(clerk, quoted, [("TEE", "1", "")])
    again = identify(clerk, code)  # the clerk tries the code again to spend the points
    memberless = sale(clerk, again, [("TEE", "1", "")], points="1000")

    spent = MemberCode.objects.get()
    assert (spent.used_at is not None, spent.store) == (True, shop["store"])
    assert again.context["member"] is None
    assert "会员码已过期或已使用" in again.content.decode()
    assert memberless.context["receipt"].member is None  # so it spends no points
    assert points_available(shop["member"]) == 5000
    assert [o.points_used for o in Order.objects.order_by("pk")] == [0, 0]
    assert f"counter-member-code:{shop['store'].pk}" not in clerk.session


def test_a_sale_paid_with_a_texted_code_spends_the_scanned_member_code_too(
    clerk, shop, django_capture_on_commit_callbacks
):
    LocmemSmsBackend.outbox.clear()
    code, _expires = member_code_issue(member=shop["member"])
    page = identify(clerk, code)
    with django_capture_on_commit_callbacks(execute=True):
        clerk.post(f"{COUNTER}otp/")
    texted = re.search(r"(?<!\d)\d{6}(?!\d)", LocmemSmsBackend.outbox[-1][1]).group()

    sale(clerk, page, [("TEE", "1", "")], points="1000", member_proof=texted)

    assert MemberOtp.objects.get().used_at is not None
    assert MemberCode.objects.get().used_at is not None
    assert points_available(shop["member"]) == 4000


@pytest.mark.parametrize(
    ("where", "working", "credited"),
    [("S001", True, True), ("S001", False, False), ("S002", True, False)],
)
def test_a_sale_credits_only_a_guide_who_works_at_this_store(clerk, shop, where, working, credited):
    guide = StaffFactory(store=Store.objects.get(code=where), role="guide", is_active=working)
    page = clerk.get(COUNTER)

    recorded = sale(clerk, page, [("TEE", "1", "")], guide_code=guide.guide_code)

    assert recorded.context["receipt"].guide == (guide if credited else None)


def test_a_refused_sale_after_a_recorded_one_leaves_nothing_half_done(clerk, shop, monkeypatch):
    first, _expires = member_code_issue(member=shop["member"])
    recorded = sale(clerk, identify(clerk, first), [("TEE", "1", "")], points="1000")
    second, _expires = member_code_issue(member=shop["member"])
    page = identify(clerk, second)

    def placed_then_refused(**sale_of):  # refused once the sale and its points are written
        order_place_paid(**sale_of)
        raise DomainError("The sale was refused.")

    monkeypatch.setattr("apps.orders.builder.order_place_paid", placed_then_refused)
    refused = sale(clerk, page, [("TEE", "2", "")], points="500")
    after = clerk.get(COUNTER)

    assert recorded.context["receipt"].points_used == 1000
    assert refused.status_code == 400 and "The sale was refused." in refused.content.decode()
    assert Order.objects.count() == 1 and points_available(shop["member"]) == 4000
    assert MemberCode.objects.filter(used_at__isnull=True).count() == 1  # the second code
    assert after.context["member"] == shop["member"]  # still served, to try again
