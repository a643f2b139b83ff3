"""The member's 分销 API: applying, their promoter figures, link and poster, commissions
and withdrawals; and an online order placed through a promoter's link."""

import itertools
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from apps.mall.models import Stock
from apps.members.models import PromoterBinding
from apps.orders.models import Order
from apps.orders.refunds import order_refund
from apps.referrals.commissions import (
    commissions_release_due,
    commissions_reverse,
    commissions_write,
)
from apps.referrals.errors import PayoutAwaitsConfirmation
from apps.referrals.models import CommissionAccount, Promoter, Withdrawal
from apps.referrals.payouts import PayoutBackend
from apps.referrals.posters import promoter_link
from apps.referrals.selectors import promoter_balances
from apps.referrals.verification import commission_problems
from apps.referrals.withdrawals import withdrawal_approve, withdrawals_pay_out_due
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory
from tests.stores.test_posters import decode

pytestmark = pytest.mark.django_db

_keys = itertools.count()


def earned_promoter(amount="1000"):
    """A promoter whose customer bought for `amount`: 10% of it available."""
    default_rate(10, 0)
    promoter = promoter_of()
    order = sale(StoreFactory(), customer_of(promoter), [("TEE", 1, amount)])
    commissions_write(order_id=order.pk)
    commissions_release_due(now=order.paid_at + timedelta(days=30))
    return promoter, order


def withdraw(client, amount, key=None, **headers):
    return client.post(
        "/api/v1/me/withdrawals",
        {"amount": amount},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or f"w{next(_keys)}",
        **headers,
    )


def test_a_member_who_never_applied_is_told_to_apply(api_client):
    client = member_client(api_client, MemberFactory())

    for path in ("me/promoter", "me/commissions", "me/withdrawals", "me/promoter/poster.png"):
        answer = client.get(f"/api/v1/{path}", HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "not_promoter"
    refused = withdraw(client, "5.00", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 404
    assert "apply" in refused.json()["message"]
    assert not Withdrawal.objects.exists()


def test_applying_waits_for_hq_by_default_and_twice_is_a_conflict(api_client):
    member = MemberFactory()
    client = member_client(api_client, member)

    applied = client.post("/api/v1/me/promoter/apply")

    assert applied.status_code == 201, applied.json()
    assert applied.json()["status"] == "applied"
    assert applied.json()["code"] == member.referral_code
    again = client.post("/api/v1/me/promoter/apply")
    assert again.status_code == 409
    assert again.json()["code"] == "already_promoter"
    assert Promoter.objects.get().status == "applied"


def test_applying_is_approved_at_once_when_hq_lets_everyone_promote(api_client, settings):
    settings.PROMOTER_ENROLMENT = "everyone"
    client = member_client(api_client, MemberFactory())

    assert client.post("/api/v1/me/promoter/apply").json()["status"] == "approved"


def test_the_promoter_sees_their_link_balances_customers_and_orders(api_client):
    promoter, _order = earned_promoter()
    customer_of(promoter)  # a second customer, who has bought nothing
    client = member_client(api_client, promoter.member)

    answer = client.get("/api/v1/me/promoter").json()

    code = promoter.member.referral_code
    assert answer["status"] == "approved" and answer["code"] == code
    assert answer["link"].endswith(f"/m/login?promoter={code}")
    assert answer["poster_url"].endswith("/api/v1/me/promoter/poster.png")
    assert answer["balance"] == {"frozen": "0.00", "available": "100.00", "debt": "0.00"}
    assert (answer["customers"], answer["orders"]) == (2, 1)
    customers = client.get("/api/v1/me/promoter/customers").json()
    assert customers["count"] == 2
    assert all("****" in row["phone_masked"] for row in customers["results"])


def test_the_poster_is_a_png_of_their_link(api_client):
    promoter = promoter_of()
    poster = member_client(api_client, promoter.member).get("/api/v1/me/promoter/poster.png")

    assert poster.status_code == 200
    assert poster["Content-Type"] == "image/png"
    assert decode(poster.content) == [promoter_link(promoter)]


def test_commissions_are_the_promoters_own_with_what_refunds_took_back(api_client):
    promoter, order = earned_promoter()
    other = promoter_of()
    sale(StoreFactory(), customer_of(other), [("TEE", 1, "500")])
    refund = order_refund(order=order, refund_id="half", amount=D("500.00"))
    commissions_reverse(refund_id=refund.pk)

    page = member_client(api_client, promoter.member).get("/api/v1/me/commissions").json()

    assert page["count"] == 1
    (row,) = page["results"]
    assert (row["order_no"], row["level"], row["amount"], row["status"]) == (
        order.order_no,
        1,
        "50.00",
        "available",
    )
    assert member_client(api_client, other.member).get("/api/v1/me/commissions").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_the_commissions_list_costs_the_same_for_any_page_size(
    api_client, django_assert_max_num_queries
):
    default_rate(10, 0)
    promoter = promoter_of()
    store, customer = StoreFactory(), customer_of(promoter)
    for _ in range(12):
        commissions_write(order_id=sale(store, customer).pk)
    client = member_client(api_client, promoter.member)

    with django_assert_max_num_queries(5):
        small = client.get("/api/v1/me/commissions?page_size=2").json()
    with django_assert_max_num_queries(5):
        large = client.get("/api/v1/me/commissions?page_size=100").json()
    assert (len(small["results"]), len(large["results"])) == (2, 12)


def test_a_withdrawal_is_asked_and_shown(api_client):
    promoter, _order = earned_promoter()
    client = member_client(api_client, promoter.member)

    asked = withdraw(client, "30.00")

    assert asked.status_code == 201, asked.json()
    assert {k: asked.json()[k] for k in ("amount", "status")} == {
        "amount": "30.00",
        "status": "requested",
    }
    assert promoter_balances(promoter)["available"] == D("70.00")
    listed = client.get("/api/v1/me/withdrawals").json()
    assert [row["id"] for row in listed["results"]] == [asked.json()["id"]]
    assert commission_problems() == {}


@pytest.mark.parametrize(
    ("amount", "in_debt", "zh", "en"),
    [
        ("0.50", False, "最低提现金额为 1.00 元。", "The smallest withdrawal is 1.00 yuan."),
        (
            "100.01",
            False,
            "可提现金额仅为 100.00 元。",
            "Only 100.00 yuan is available to withdraw.",
        ),
        (
            "10.00",
            True,
            "退款产生了 5.00 元欠款，还清前不能提现。",
            "A refund left 5.00 yuan to pay back: no withdrawal until it is.",
        ),
    ],
)
def test_a_withdrawal_the_rules_refuse_changes_nothing(api_client, amount, in_debt, zh, en):
    promoter, _order = earned_promoter()
    if in_debt:
        CommissionAccount.objects.filter(promoter=promoter, kind="debt").update(balance=D("-5"))
    client = member_client(api_client, promoter.member)

    for language, message in (("zh-hans", zh), ("en", en)):
        refused = withdraw(client, amount, HTTP_ACCEPT_LANGUAGE=language)
        assert refused.status_code == 400
        assert refused.json()["message"] == message

    assert not Withdrawal.objects.exists()
    assert promoter_balances(promoter)["available"] == D("100.00")


def test_a_withdrawal_needs_a_key_and_a_retry_asks_once(api_client):
    promoter, _order = earned_promoter()
    client = member_client(api_client, promoter.member)

    keyless = client.post("/api/v1/me/withdrawals", {"amount": "10.00"}, format="json")
    assert keyless.status_code == 400
    first, again = (withdraw(client, "10.00", key="same") for _ in range(2))

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert Withdrawal.objects.count() == 1
    assert promoter_balances(promoter)["available"] == D("90.00")
    assert withdraw(client, "20.00", key="same").status_code == 409


def test_a_member_cannot_withdraw_another_promoters_money(api_client):
    promoter, _order = earned_promoter()
    stranger = promoter_of()

    refused = withdraw(member_client(api_client, stranger.member), "10.00")

    assert refused.status_code == 400
    assert promoter_balances(promoter)["available"] == D("100.00")
    assert not Withdrawal.objects.exists()


class ConfirmedLaterPayoutBackend(PayoutBackend):
    """A gateway that pays once the member confirms receipt (as WeChat's 商家转账 does),
    which they have when `confirmed`."""

    confirmed = False

    def transfer(self, *, reference, openid, amount, description, package_held=False):
        if not self.confirmed:
            raise PayoutAwaitsConfirmation(f"PKG-{reference}")
        return f"PAID-{reference}"


def test_only_the_member_sees_how_to_confirm_a_withdrawal_and_only_while_it_waits(
    api_client, settings, monkeypatch
):
    from rest_framework.test import APIClient

    settings.PAYOUT_BACKEND = f"{__name__}.ConfirmedLaterPayoutBackend"
    settings.WECHATPAY_MCH_ID, settings.WECHATPAY_APP_ID = "1900000109", "wxd678efh567hg6787"
    promoter, _order = earned_promoter()
    owner = member_client(api_client, promoter.member)
    asked = withdraw(owner, "30.00").json()
    assert asked["confirmation"] is None
    withdrawal_approve(withdrawal=Withdrawal.objects.get(pk=asked["id"]), actor=UserFactory())
    stranger = promoter_of()
    stranger_client = member_client(APIClient(), stranger.member)
    withdraw(stranger_client, "1.00")  # refused (nothing available): none of theirs waits

    [mine] = owner.get("/api/v1/me/withdrawals").json()["results"]
    theirs = stranger_client.get("/api/v1/me/withdrawals").json()["results"]

    assert mine["status"] == "confirming"
    assert mine["confirmation"] == {
        "mch_id": "1900000109",
        "app_id": "wxd678efh567hg6787",
        "package_info": f"PKG-W{asked['id']:012d}",
    }
    assert theirs == []
    assert "PKG-" not in str(stranger_client.get("/api/v1/me/promoter").json())

    monkeypatch.setattr(ConfirmedLaterPayoutBackend, "confirmed", True)
    assert withdrawals_pay_out_due() == 1
    [paid] = owner.get("/api/v1/me/withdrawals").json()["results"]
    assert (paid["status"], paid["confirmation"]) == ("paid", None)
    assert commission_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_withdrawals_sent_at_once_never_take_more_than_is_available():
    from rest_framework.test import APIClient

    promoter, _order = earned_promoter()
    keys = itertools.count()

    def ask():
        return withdraw(member_client(APIClient(), promoter.member), "30.00", f"t{next(keys)}")

    answers = run_together(ask, 6)

    assert sorted(answer.status_code for answer in answers) == [201, 201, 201, 400, 400, 400]
    assert promoter_balances(promoter)["available"] == D("10.00")
    assert commission_problems() == {}


@pytest.fixture
def mall(db):
    store = StoreFactory(code="S009")
    tee = SkuFactory(sku="TEE", price=D("100.00"))
    Stock.objects.create(sku=tee, store=store, on_hand=5)
    return store


def place(client, **extra):
    return client.post(
        "/api/v1/orders",
        {
            "store_code": "S009",
            "lines": [{"sku": "TEE", "quantity": 1}],
            "fulfilment": {"type": "pickup"},
            **extra,
        },
        format="json",
    )


def test_an_order_through_a_promoters_link_binds_the_member_and_credits_them(api_client, mall):
    promoter = promoter_of()
    buyer = MemberFactory()

    placed = place(member_client(api_client, buyer), promoter_code=promoter.member.referral_code)

    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(order_no=placed.json()["order_no"])
    assert order.promoter_id == promoter.member_id
    binding = PromoterBinding.objects.get(member=buyer)
    assert (binding.promoter_id, binding.source) == (promoter.member_id, "link")


@pytest.mark.parametrize("status", [None, "applied", "suspended"])
def test_an_order_with_a_code_of_no_approved_promoter_is_refused_and_changes_nothing(
    api_client, mall, status
):
    code = promoter_of(status=status).member.referral_code if status else "NOSUCH"
    buyer = MemberFactory()

    refused = place(member_client(api_client, buyer), promoter_code=code)

    assert refused.status_code == 400
    assert code in refused.json()["message"]
    assert not Order.objects.exists()
    assert not PromoterBinding.objects.exists()
    assert Stock.objects.get().reserved == 0


def test_an_order_with_the_members_own_code_binds_no_one(api_client, mall):
    promoter = promoter_of()

    placed = place(
        member_client(api_client, promoter.member), promoter_code=promoter.member.referral_code
    )

    assert placed.status_code == 201
    assert Order.objects.get().promoter_id is None
    assert not PromoterBinding.objects.exists()


def test_a_later_binding_never_rewrites_an_order_placed_before(api_client, mall):
    first, second = promoter_of(), promoter_of()
    buyer = customer_of(first)
    client = member_client(api_client, buyer)
    placed = place(client)
    order_no = placed.json()["order_no"]

    PromoterBinding.objects.filter(member=buyer).update(replaced_at=timezone.now())
    place(client, promoter_code=second.member.referral_code)

    assert Order.objects.get(order_no=order_no).promoter_id == first.member_id


def test_an_order_refused_for_its_stock_leaves_the_member_unbound(api_client, mall):
    promoter = promoter_of()
    buyer = MemberFactory()
    Stock.objects.update(on_hand=0)

    refused = place(member_client(api_client, buyer), promoter_code=promoter.member.referral_code)

    assert refused.status_code == 409
    assert not Order.objects.exists()
    assert not PromoterBinding.objects.exists()
