"""HQ's console for campaigns: made with their actions, dry run shown, moved through their
lifecycle by those allowed to, and nobody else."""

import pytest
from django.contrib.auth.models import Group, Permission

from apps.core import roles
from apps.marketing.models import Campaign, CampaignAction
from tests.core.factories import UserFactory
from tests.marketing.factories import MessageTemplateFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

INLINE = "actions"


def form(**fields):
    data = {
        "name": "周三会员日",
        "audience": "all",
        "trigger": "weekly",
        "weekday": "3",
        "hour": "10",
        "starts_at_0": "2027-03-01",
        "starts_at_1": "00:00:00",
        "holdout_percent": "10",
        "budget_period": "total",
        f"{INLINE}-TOTAL_FORMS": "1",
        f"{INLINE}-INITIAL_FORMS": "0",
        f"{INLINE}-MIN_NUM_FORMS": "0",
        f"{INLINE}-MAX_NUM_FORMS": "1000",
        f"{INLINE}-0-kind": "points",
        f"{INLINE}-0-amount": "50",
    }
    return {**data, **fields}


def test_hq_creates_a_campaign_sees_its_dry_run_and_schedules_it(hq_client):
    for _ in range(3):
        MemberFactory()

    created = hq_client.post("/admin/marketing/campaign/add/", form())
    campaign = Campaign.objects.get()
    page = hq_client.get(f"/admin/marketing/campaign/{campaign.pk}/change/").content.decode()
    scheduled = hq_client.post(
        "/admin/marketing/campaign/",
        {"action": "schedule", "_selected_action": [campaign.pk]},
        follow=True,
    )

    assert created.status_code == 302
    assert CampaignAction.objects.get(campaign=campaign).amount == 50
    assert "人群 3" in page and "积分" in page
    assert "已排期" in scheduled.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "scheduled" and campaign.schedule.enabled


def test_an_invalid_transition_in_the_console_is_a_message_and_changes_nothing(hq_client):
    campaign = Campaign.objects.create(name="草稿活动", trigger="once")

    response = hq_client.post(
        "/admin/marketing/campaign/",
        {"action": "pause", "_selected_action": [campaign.pk]},
        follow=True,
    )

    assert "不能改为" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_a_message_action_needs_its_template(hq_client):
    response = hq_client.post(
        "/admin/marketing/campaign/add/", form(**{f"{INLINE}-0-kind": "message"})
    )

    assert response.status_code == 200
    assert not Campaign.objects.exists()
    MessageTemplateFactory()  # the form lists templates, nothing else


def test_staff_without_the_run_permission_cannot_start_campaigns(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_campaign", "change_campaign"])
    )
    campaign = Campaign.objects.create(name="草稿活动", trigger="once")
    CampaignAction.objects.create(campaign=campaign, kind="points", amount=1)
    client.force_login(user)

    client.post(
        "/admin/marketing/campaign/", {"action": "schedule", "_selected_action": [campaign.pk]}
    )

    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_marketing_may_run_campaigns_customer_service_may_not():
    marketing = Group.objects.get(name=roles.MARKETING).permissions
    service = Group.objects.get(name=roles.CUSTOMER_SERVICE).permissions
    assert marketing.filter(codename="run_campaign").exists()
    assert not service.filter(codename="run_campaign").exists()


def test_a_marketer_makes_a_campaign_with_its_actions(client):
    user = UserFactory(is_staff=True)
    user.groups.set([Group.objects.get(name=roles.MARKETING)])
    client.force_login(user)

    page = client.get("/admin/marketing/campaign/add/").content.decode()
    created = client.post("/admin/marketing/campaign/add/", form())

    assert f'name="{INLINE}-0-kind"' in page
    assert "排期之前不会发放任何权益" in page  # where the dry run will be
    assert created.status_code == 302
    assert CampaignAction.objects.get(campaign__name="周三会员日").amount == 50


def test_running_a_draft_now_says_why_nothing_ran(hq_client):
    campaign = Campaign.objects.create(name="草稿活动", trigger="once")
    CampaignAction.objects.create(campaign=campaign, kind="points", amount=1)

    response = hq_client.post(
        "/admin/marketing/campaign/",
        {"action": "run_now", "_selected_action": [campaign.pk]},
        follow=True,
    )

    assert "草稿活动 未运行" in response.content.decode()
    assert not campaign.members.exists()
