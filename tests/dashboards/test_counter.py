"""Counter tools: identify a member, redeem a coupon, record a sale through the same
quote and order services as the POS API."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.sms import LocmemSmsBackend
from apps.coupons.models import Coupon
from apps.coupons.services import coupon_claim
from apps.mall.models import Product
from apps.members.credentials import member_code_issue
from apps.members.models import MemberCode, MemberOtp
from apps.orders.models import Order
from apps.points.models import EarningRule
from apps.points.selectors import points_available
from apps.points.services import points_earn
from apps.stores.models import Store
from apps.tiers.models import Tier
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.dashboards.test_overview import person
from tests.distributors.factories import DistributorFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def shop():
    Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    Product.objects.create(sku="TEE", name="T恤", category="上衣", price=D("99"))
    store, elsewhere = StoreFactory(code="S001"), StoreFactory(code="S002")
    member = MemberFactory(phone="13900001111", name="王安", home_store=store)
    points_earn(member=member, amount=5000, key="seed", cause="t", description="t", pending=False)
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


def test_hq_staff_find_any_member_by_phone(client, shop):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    MemberFactory(phone="13900002222", home_store=shop["elsewhere"])

    assert identify(client, "13900002222").context["member"].phone == "13900002222"


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
