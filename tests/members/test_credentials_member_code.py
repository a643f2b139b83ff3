"""Member codes (会员码): a new random code at every call, stored hashed, spent by one
checkout, alive two minutes; twenty of them spent at once never overdraw the member."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.members.credentials import (
    member_code_check,
    member_code_issue,
    member_code_member,
    member_code_spend,
    member_codes_purge,
    member_identify,
    member_token_issue,
)
from apps.members.errors import MemberCodeExpired, MemberCodeNotTheirs, MemberNotFound
from apps.members.models import MemberCode, MemberOtp
from apps.orders.models import Order
from apps.points.models import EarningRule, Entry
from apps.points.selectors import points_available
from apps.points.services import points_earn
from apps.points.verification import ledger_problems
from tests.conftest import run_together
from tests.mall.factories import SkuFactory
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db


def test_every_call_gives_a_new_code_of_eighteen_digits(api_client):
    member = MemberFactory()
    client = member_client(api_client, member)

    codes = [client.get("/api/v1/me/code").json()["code"] for _ in range(3)]

    assert len(set(codes)) == 3
    assert all(len(code) == 18 and code.isdigit() and code[0] == "6" for code in codes)
    assert all(member_code_member(code) == member for code in codes)
    stored = set(MemberCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 3 and not any(code in stored for code in codes)  # hashes only


def test_two_codes_in_one_minute_pay_for_two_sales():
    member, store = MemberFactory(), StoreFactory()
    first, _expires = member_code_issue(member=member)
    second, _expires = member_code_issue(member=member)

    member_code_spend(code=first, store=store)
    member_code_spend(code=second, store=store)

    assert MemberCode.objects.filter(used_at__isnull=False, store=store).count() == 2


def test_looking_at_a_code_does_not_spend_it_and_a_spent_one_is_refused():
    member = MemberFactory()
    code, _expires = member_code_issue(member=member)

    assert member_code_member(code) == member == member_code_member(code)
    member_code_spend(code=code)

    with pytest.raises(MemberCodeExpired):
        member_code_member(code)
    with pytest.raises(MemberCodeExpired):
        member_code_spend(code=code)


def test_a_code_lives_two_minutes_at_most():
    member = MemberFactory()
    made = timezone.now()
    code, expires_at = member_code_issue(member=member, now=made)

    assert expires_at - made == timedelta(seconds=120)
    assert member_code_member(code, now=expires_at - timedelta(seconds=1)) == member
    with pytest.raises(MemberCodeExpired):
        member_code_member(code, now=expires_at)
    with pytest.raises(MemberCodeExpired):
        member_code_spend(code=code, now=expires_at)
    assert MemberCode.objects.get().used_at is None


@pytest.mark.parametrize("code", ["612345678901234567", "6" * 17, "712345678901234567", "abc", ""])
def test_a_code_never_made_is_not_found(code):
    member_code_issue(member=MemberFactory())

    with pytest.raises(MemberNotFound):
        member_code_member(code)
    with pytest.raises((MemberNotFound, MemberCodeExpired)):
        member_code_spend(code=code)
    assert not MemberCode.objects.filter(used_at__isnull=False).exists()


def test_looking_at_a_code_is_one_statement_and_spending_it_one_more():
    member = MemberFactory()
    code, _expires = member_code_issue(member=member)

    with CaptureQueriesContext(connection) as looked:
        member_code_member(code)
    with CaptureQueriesContext(connection) as spent:
        member_code_spend(code=code)

    assert len(looked.captured_queries) == 1
    assert [q["sql"].split()[0] for q in spent.captured_queries] == ["UPDATE"]


@pytest.mark.django_db(transaction=True)
def test_one_code_spent_at_two_tills_at_once_pays_once():
    member, store = MemberFactory(), StoreFactory()
    code, _expires = member_code_issue(member=member)

    def spend():
        try:
            member_code_spend(code=code, store=store)
            return "spent"
        except MemberCodeExpired:
            return "expired"

    assert sorted(run_together(spend, 8)) == ["expired"] * 7 + ["spent"]


@pytest.mark.django_db(transaction=True)
def test_twenty_codes_spent_at_once_at_twenty_tills_never_overdraw_the_member():
    """The member opens the code twenty times and twenty tills each sell with points at once:
    each sale is priced on the balance it read, and the ledger refuses what is not there."""
    EarningRule.objects.create(name="每 1 元得 1 分", kind="rate", points_per_yuan=1)
    SkuFactory(sku="TEE", name="T恤", category="上衣", price=Decimal("99"))
    member = MemberFactory()
    points_earn(
        member=member, amount=3000, key="seed", cause_kind="admin", description="t", pending=False
    )
    token = member_token_issue(member=member)

    def fetch():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.get("/api/v1/me/code").json()["code"]

    codes = run_together(fetch, 20)
    assert len(set(codes)) == 20
    tills = iter(zip([pos_key_for(StoreFactory()) for _ in codes], codes, strict=True))
    external_ids = itertools.count()

    def sell():
        raw_key, code = next(tills)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        response = client.post(
            "/api/pos/v1/orders",
            {
                "external_id": f"T-{next(external_ids)}",
                "member_code": code,
                "lines": [{"sku": "TEE", "quantity": 4, "unit_price": "99.00"}],
                "points": 1000,
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=code,
        )
        return response.status_code, response.json().get("code")

    results = run_together(sell, 20)

    # A till whose quote read the balance after others had spent it sells with what is left.
    spent = sum(Order.objects.values_list("points_used", flat=True))
    assert set(results) <= {(201, None), (409, "insufficient_points")}, results
    assert Order.objects.filter(points_used=1000).count() == 3
    assert spent == 3000 and points_available(member) == 0
    assert sum(Entry.objects.filter(kind="redeem").values_list("amount", flat=True)) == 3000
    sales = results.count((201, None))
    assert (
        MemberCode.objects.filter(used_at__isnull=False).count() == sales == Order.objects.count()
    )
    assert ledger_problems() == {}


def test_codes_are_forgotten_a_day_after_they_expired():
    member, store = MemberFactory(), StoreFactory()
    now = timezone.now()
    old, _expires = member_code_issue(member=member, now=now - timedelta(days=1, minutes=3))
    fresh, _expires = member_code_issue(member=member, now=now - timedelta(hours=23))
    MemberOtp.objects.create(
        member=member, store=store, code_hash="x", expires_at=now - timedelta(days=2)
    )

    assert member_codes_purge(now=now) == 2
    assert member_codes_purge(now=now) == 0

    with pytest.raises(MemberNotFound):
        member_code_member(old)
    with pytest.raises(MemberCodeExpired):
        member_code_member(fresh)
    assert not MemberOtp.objects.exists()


def test_a_code_is_checked_as_its_members_only_while_it_lives():
    member, other = MemberFactory(), MemberFactory()
    code, _expires = member_code_issue(member=member)

    member_code_check(member=member, code=code)
    with pytest.raises(MemberNotFound):  # nothing said of whose it is
        member_code_check(member=other, code=code)
    member_code_spend(code=code)
    with pytest.raises(MemberCodeExpired):
        member_code_check(member=member, code=code)


def test_a_code_shown_for_a_member_named_by_id_must_be_theirs():
    store, member, other = StoreFactory(), MemberFactory(), MemberFactory()
    code, _expires = member_code_issue(member=member)

    identified = member_identify(store=store, member_id=member.pk, member_code=code)
    with pytest.raises(MemberCodeNotTheirs):
        member_identify(store=store, member_id=other.pk, member_code=code)

    assert (identified.member, identified.member_code, identified.present) == (member, code, True)
    assert MemberCode.objects.get().used_at is None  # looked at, not spent
