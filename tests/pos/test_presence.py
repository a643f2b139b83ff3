"""The member must be present to spend (API.md, POS): by member_id or phone a sale earns; it
spends points only with a member code or a code texted to the member (members/otp)."""

import itertools
import re

import pytest

from apps.core.sms import LocmemSmsBackend, SmsNotSent
from apps.coupons.issuing import coupon_claim
from apps.members.credentials import member_code_issue
from apps.members.models import MemberOtp
from apps.orders.models import Order
from apps.points.models import Entry
from apps.points.selectors import points_available
from apps.points.verification import ledger_problems
from tests.conftest import run_together
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory
from tests.pos.conftest import PHONE, till
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sms_outbox():
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


numbers = itertools.count()


def sale(member_way: dict, points=1000, **extra) -> dict:
    return {
        "external_id": f"T-{next(numbers)}",
        **member_way,
        "lines": [{"sku": "TEE", "quantity": 2, "unit_price": "99.00"}],
        "points": points,
        **extra,
    }


def otp_sent(pos, django_capture_on_commit_callbacks, phone=PHONE):
    with django_capture_on_commit_callbacks(execute=True):
        response = pos.post("/api/pos/v1/members/otp", {"phone": phone}, format="json")
    assert response.status_code == 200, response.json()
    return re.search(r"(?<!\d)\d{6}(?!\d)", LocmemSmsBackend.outbox[-1][1]).group()


@pytest.mark.parametrize("path", ["orders", "orders/quote"])
@pytest.mark.parametrize("way", ["member_id", "phone"])
def test_a_till_cannot_spend_points_of_a_member_named_by_id_or_phone(pos, shop, path, way):
    member_way = {"member_id": shop["member"].pk} if way == "member_id" else {"phone": PHONE}

    response = pos.post(f"/api/pos/v1/{path}", sale(member_way), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "member_not_present"
    assert not Order.objects.exists()
    assert points_available(shop["member"]) == 5000
    assert not Entry.objects.filter(kind="redeem").exists()


def test_a_sale_by_phone_or_id_earns_without_proof(pos, shop):
    by_phone = pos.post("/api/pos/v1/orders", sale({"phone": PHONE}, points=0), format="json")
    by_id = pos.post(
        "/api/pos/v1/orders", sale({"member_id": shop["member"].pk}, points=0), format="json"
    )

    assert by_phone.status_code == by_id.status_code == 201
    assert [by_phone.json()["points_earned"], by_id.json()["points_earned"]] == [198, 198]
    assert Order.objects.filter(member=shop["member"], points_used=0).count() == 2


def test_a_coupon_is_spent_by_its_code_without_a_member_code(pos, shop):
    coupon = coupon_claim(template=CouponTemplateFactory(), member=shop["member"])

    response = pos.post(
        "/api/pos/v1/orders",
        sale({"phone": PHONE}, points=0, coupon_codes=[coupon.code]),
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["quote"]["coupon_discount"] == "20.00"


def test_a_member_code_lets_the_sale_spend_points_once(pos, shop):
    code, _expires = member_code_issue(member=shop["member"])

    quoted = pos.post("/api/pos/v1/orders/quote", sale({"member_code": code}), format="json")
    first = pos.post("/api/pos/v1/orders", sale({"member_code": code}), format="json")
    again = pos.post("/api/pos/v1/orders", sale({"member_code": code}), format="json")

    assert quoted.status_code == 200 and quoted.json()["points_used"] == 1000
    assert first.status_code == 201 and first.json()["points_used"] == 1000
    assert (again.status_code, again.json()["code"]) == (400, "expired")
    assert points_available(shop["member"]) == 4000 and Order.objects.count() == 1


def test_a_texted_code_lets_the_sale_spend_points_once(
    pos, shop, sms_outbox, django_capture_on_commit_callbacks
):
    code = otp_sent(pos, django_capture_on_commit_callbacks)

    first = pos.post("/api/pos/v1/orders", sale({"phone": PHONE}, member_otp=code), format="json")
    again = pos.post(
        "/api/pos/v1/orders",
        sale({"member_id": shop["member"].pk}, member_otp=code),
        format="json",
    )

    assert sms_outbox[0][0] == PHONE and "杭州文三路店" in sms_outbox[0][1]
    assert first.status_code == 201 and first.json()["points_used"] == 1000
    assert (again.status_code, again.json()["code"]) == (400, "wrong_code")
    assert points_available(shop["member"]) == 4000
    assert MemberOtp.objects.get().used_at is not None
    assert code not in MemberOtp.objects.get().code_hash


def test_a_sale_that_fails_does_not_spend_the_texted_code(
    pos, shop, django_capture_on_commit_callbacks
):
    code = otp_sent(pos, django_capture_on_commit_callbacks)
    bad = sale({"phone": PHONE}, member_otp=code)
    bad["lines"][0]["sku"] = "NOPE"
    bad["lines"][0].pop("unit_price")

    refused = pos.post("/api/pos/v1/orders", bad, format="json")
    sold = pos.post("/api/pos/v1/orders", sale({"phone": PHONE}, member_otp=code), format="json")

    assert refused.status_code == 400
    assert sold.status_code == 201


def test_a_code_texted_for_one_store_spends_nothing_at_another(
    pos, shop, django_capture_on_commit_callbacks
):
    code = otp_sent(pos, django_capture_on_commit_callbacks)
    other = till(pos_key_for(StoreFactory()))

    response = other.post(
        "/api/pos/v1/orders", sale({"phone": PHONE}, member_otp=code), format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "wrong_code")
    assert points_available(shop["member"]) == 5000
    assert MemberOtp.objects.get().used_at is None


def test_five_tries_spend_a_texted_code(pos, shop, django_capture_on_commit_callbacks):
    code = otp_sent(pos, django_capture_on_commit_callbacks)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        body = sale({"phone": PHONE}, member_otp=wrong)
        assert pos.post("/api/pos/v1/orders", body, format="json").json()["code"] == "wrong_code"

    right = pos.post("/api/pos/v1/orders", sale({"phone": PHONE}, member_otp=code), format="json")

    assert (right.status_code, right.json()["code"]) == (400, "wrong_code")
    assert points_available(shop["member"]) == 5000


@pytest.mark.django_db(transaction=True)
def test_twenty_guesses_at_once_at_a_texted_code_get_five_tries(shop, monkeypatch):
    from apps.members import credentials

    till(shop["key"]).post("/api/pos/v1/members/otp", {"phone": PHONE}, format="json")
    code = re.search(r"(?<!\d)\d{6}(?!\d)", LocmemSmsBackend.outbox[-1][1]).group()
    guesses = iter(f"{n:06d}" for n in range(1000, 1021) if f"{n:06d}" != code)
    compared = []
    compare = credentials.constant_time_compare
    monkeypatch.setattr(
        credentials, "constant_time_compare", lambda a, b: compared.append(1) or compare(a, b)
    )

    def guess():
        body = sale({"phone": PHONE}, member_otp=next(guesses))
        response = till(shop["key"]).post(
            "/api/pos/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=body["external_id"]
        )
        return response.status_code, response.json()["code"]

    statuses = run_together(guess, 20)
    right = till(shop["key"]).post(
        "/api/pos/v1/orders", sale({"phone": PHONE}, member_otp=code), format="json"
    )

    assert statuses == [(400, "wrong_code")] * 20
    assert len(compared) == 5  # the other fifteen were refused before looking
    assert (right.status_code, right.json()["code"]) == (400, "wrong_code")
    assert not Order.objects.exists() and points_available(shop["member"]) == 5000
    assert ledger_problems() == {}


def test_a_texted_code_for_an_unknown_phone_is_not_found_and_sends_nothing(pos, sms_outbox):
    response = pos.post("/api/pos/v1/members/otp", {"phone": "13700000000"}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert sms_outbox == [] and not MemberOtp.objects.exists()


def test_a_texted_code_the_provider_did_not_send_answers_503_and_the_till_asks_again(
    pos, shop, monkeypatch, sms_outbox
):
    def refuse(self, phone, message, params, template):
        raise SmsNotSent("LimitExceeded.PhoneNumberDailyLimit")

    with monkeypatch.context() as provider_down:
        provider_down.setattr(LocmemSmsBackend, "send", refuse)
        failed = pos.post("/api/pos/v1/members/otp", {"phone": PHONE}, format="json")

    assert (failed.status_code, failed.json()["code"]) == (503, "sms_unavailable")
    assert failed["Retry-After"] == "5"
    assert not MemberOtp.objects.exists()
    again = pos.post("/api/pos/v1/members/otp", {"phone": PHONE}, format="json")
    assert again.status_code == 200  # nothing was counted: no wait
    assert len(sms_outbox) == 1 and MemberOtp.objects.count() == 1


def test_texted_codes_are_throttled_per_member_and_per_store(
    pos, shop, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.core.api.throttling import ScopedRateThrottle

    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "pos_otp", "2/hour")
    otp_sent(pos, django_capture_on_commit_callbacks)

    again = pos.post("/api/pos/v1/members/otp", {"phone": PHONE}, format="json")
    third = pos.post("/api/pos/v1/members/otp", {"phone": MemberFactory().phone}, format="json")

    assert (again.status_code, again.json()["code"]) == (429, "throttled")
    assert again["Retry-After"] == "60"  # this member, a minute
    assert third.status_code == 429  # this store, its third code this hour
    assert MemberOtp.objects.count() == 1


def test_a_texted_code_needs_a_member_named_by_id_or_phone(pos, shop):
    code, _expires = member_code_issue(member=shop["member"])

    for body in [
        sale({}, member_otp="123456"),
        sale({"member_code": code}, member_otp="123456"),
        sale({"member_code": code, "phone": PHONE}),
    ]:
        response = pos.post("/api/pos/v1/orders", body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "invalid"), body
    assert not Order.objects.exists()


def test_identify_by_phone_shows_coupon_titles_and_by_member_code_their_codes(pos, shop):
    coupon = coupon_claim(template=CouponTemplateFactory(name="满100减20"), member=shop["member"])
    code, _expires = member_code_issue(member=shop["member"])

    by_phone = pos.post("/api/pos/v1/members/identify", {"phone": PHONE}, format="json").json()
    by_code = pos.post("/api/pos/v1/members/identify", {"member_code": code}, format="json").json()

    assert [(c["name"], c["code"]) for c in by_phone["coupons"]] == [("满100减20", None)]
    assert [(c["name"], c["code"]) for c in by_code["coupons"]] == [("满100减20", coupon.code)]
    assert by_phone["points_available"] == by_code["points_available"] == 5000
    # identifying did not spend the member code: a sale still can
    assert (
        pos.post("/api/pos/v1/orders", sale({"member_code": code}), format="json").status_code
        == 201
    )
