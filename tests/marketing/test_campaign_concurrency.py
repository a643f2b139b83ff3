"""Campaigns on paid orders, with real threads on PostgreSQL: the budget is never exceeded
however many orders are paid at once, and an order's run waits on no campaign row."""

import queue
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from apps.marketing import campaigns
from apps.marketing.campaigns import campaign_run_for_member
from apps.marketing.models import Campaign, CampaignAction, CampaignGrant, CampaignSpend
from apps.points.models import Entry
from apps.points.verification import ledger_problems
from tests.conftest import run_together
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def order_campaign(**fields) -> Campaign:
    campaign = Campaign.objects.create(name="下单有礼", trigger="order_paid", **fields)
    CampaignAction.objects.create(campaign=campaign, kind="points", amount=10)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    return campaign


def test_orders_paid_at_once_never_spend_past_the_budget():
    members = queue.Queue()
    for _ in range(12):
        members.put(MemberFactory().pk)
    campaign = order_campaign(budget_points=50)

    def pay():
        member = members.get()
        with transaction.atomic():  # as the event's handler runs, in its own transaction
            campaign_run_for_member(
                campaign_id=campaign.pk, member_id=member, key=f"order-{member}"
            )

    run_together(pay, 12)

    given = Entry.objects.filter(cause_kind="campaign")
    assert given.count() == 5 and sum(given.values_list("amount", flat=True)) == 50
    assert CampaignGrant.objects.count() == 5
    assert CampaignSpend.objects.get(campaign=campaign).spent == 50
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ENDED
    assert not ledger_problems()


def test_an_orders_run_waits_on_no_campaign_row():
    member = MemberFactory()
    campaign = order_campaign(min_payable=Decimal("10"))
    locked, release = threading.Event(), threading.Event()

    def hold_the_campaign_row():  # HQ pausing it, in another transaction
        try:
            with transaction.atomic():
                campaigns._locked(campaign.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_campaign_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:  # waiting would fail, not hang
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            campaign_run_for_member(campaign_id=campaign.pk, member_id=member.pk, key="order-1")
    finally:
        release.set()
        holder.join(timeout=30)

    assert CampaignGrant.objects.filter(member=member).count() == 1
