"""The console's distribution pages: finance decides withdrawals, HQ promoters and rules."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group

from apps.core import roles
from apps.referrals.commissions import commissions_release_due, commissions_write
from apps.referrals.models import CommissionRule, Promoter, Withdrawal
from apps.referrals.selectors import promoter_balances
from apps.referrals.withdrawals import withdrawal_request
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.referrals.factories import customer_of, default_rate, promoter_of, sale
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def hq(client, role):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


@pytest.fixture
def asked():
    default_rate(10, 0)
    promoter = promoter_of()
    order = sale(StoreFactory(), customer_of(promoter), [("TEE", 1, "500")])
    commissions_write(order_id=order.pk)
    commissions_release_due(now=order.paid_at + timedelta(days=8))
    return withdrawal_request(promoter=promoter, amount=D("30.00"), key="k")


def test_finance_approves_a_withdrawal_and_it_is_paid(client, asked):
    finance = hq(client, roles.FINANCE)

    client.post(
        "/admin/referrals/withdrawal/",
        {"action": "approve_withdrawal", "_selected_action": [asked.pk], "note": ""},
    )

    asked.refresh_from_db()
    assert (asked.status, asked.decided_by) == ("paid", finance)


def test_finance_refuses_one_with_a_note(client, asked):
    hq(client, roles.FINANCE)

    client.post(
        "/admin/referrals/withdrawal/",
        {"action": "refuse_withdrawal", "_selected_action": [asked.pk], "note": "账户信息不符"},
    )

    asked.refresh_from_db()
    assert (asked.status, asked.reason) == ("refused", "账户信息不符")
    assert promoter_balances(asked.promoter)["available"] == D("50.00")


def test_operations_may_not_decide_withdrawals(client, asked):
    hq(client, roles.OPERATIONS)

    client.post(
        "/admin/referrals/withdrawal/",
        {"action": "approve_withdrawal", "_selected_action": [asked.pk]},
    )

    assert Withdrawal.objects.get().status == "requested"


def test_a_decision_out_of_turn_is_a_message_and_the_others_go_on(client):
    hq(client, roles.OPERATIONS)
    waiting = Promoter.objects.create(member=MemberFactory(), status="applied")
    refused = Promoter.objects.create(member=MemberFactory(), status="refused")

    response = client.post(
        "/admin/referrals/promoter/",
        {"action": "approve", "_selected_action": [waiting.pk, refused.pk], "note": "ok"},
        follow=True,
    )

    assert dict(Promoter.objects.values_list("pk", "status")) == {
        waiting.pk: "approved",
        refused.pk: "refused",
    }
    assert "无法" in response.content.decode() or "cannot" in response.content.decode()


def test_finance_may_not_approve_promoters(client):
    hq(client, roles.FINANCE)
    waiting = Promoter.objects.create(member=MemberFactory(), status="applied")

    client.post(
        "/admin/referrals/promoter/", {"action": "approve", "_selected_action": [waiting.pk]}
    )

    waiting.refresh_from_db()
    assert waiting.status == "applied"


def test_a_rule_whose_levels_pass_100_percent_is_refused_by_the_form(client):
    hq(client, roles.OPERATIONS)

    response = client.post(
        "/admin/referrals/commissionrule/add/",
        {
            "name": "太高",
            "scope": "default",
            "mode": "rate",
            "level1": "80",
            "level2": "30",
            "active": "on",
        },
    )

    assert response.status_code == 200  # the form again, with its error
    assert "100%" in response.content.decode()
    assert not CommissionRule.objects.exists()
