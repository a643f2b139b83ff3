"""HQ's marketer makes a birthday-month campaign with a 10% holdout in the console: its
audience, its trigger, a coupon and an inbox message from a template; sees its dry run
before starting it, schedules it and runs it. A member whose birthday is this month, and
who is in neither the holdout nor the global control group, signs in to /m/ and finds the
coupon in the wallet and the message in the inbox; a held-out member got nothing."""

import re
from datetime import date
from decimal import Decimal
from importlib import import_module

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from playwright.sync_api import expect

from apps.core import roles
from apps.coupons.models import Coupon
from apps.marketing.audience import control_group, in_share
from apps.marketing.models import Campaign, Message, MessageTemplate
from apps.marketing.outbox import messages_send_due
from apps.members.models import Member
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_member_centre import PHONE, accessible, sign_in, stores, watched  # noqa: F401
from tests.core.factories import UserFactory
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The grants to HQ's marketers this test relies on, as the migrations make them.
ROLE_MIGRATIONS = [
    "apps.coupons.migrations.0002_schedules_and_roles",
    "apps.marketing.migrations.0002_schedules_and_roles",
    "apps.marketing.migrations.0005_campaign_roles",
    "apps.marketing.migrations.0010_h23_campaign_action_roles",
]


def marketing_role() -> Group:
    """总部市场 as the migrations made it; made again from their grants when an earlier
    transactional test emptied the tables (permissions come back after a flush, groups
    do not)."""
    group, created = Group.objects.get_or_create(name=roles.MARKETING)
    if created:
        for module in ROLE_MIGRATIONS:
            for perm in import_module(module).GRANTS[roles.MARKETING]:
                app_label, codename = perm.split(".")
                group.permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
    return group


@pytest.fixture
def console(chromium, live_server, request):
    """The console in a desktop browser, signed in as HQ's marketer (总部市场, no superuser);
    a failing test leaves its screenshot and HTML in test-artifacts/ as the phone's do."""
    marketer = UserFactory(username="hq_marketing", is_staff=True)
    marketer.set_password("demo12345")
    marketer.save()
    marketer.groups.set([marketing_role()])
    desk = chromium.new_context(base_url=live_server.url, locale="zh-CN")
    desk.set_default_timeout(10_000)
    page = desk.new_page()
    page.goto("/admin/login/")
    page.get_by_label("用户名").fill("hq_marketing")
    page.get_by_label("密码").fill("demo12345")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#site-name")).to_be_visible()
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{request.node.name}-console.png", full_page=True)
        (ARTIFACTS / f"{request.node.name}-console.html").write_text(page.content())
    desk.close()


def birthday_member(**fields) -> Member:
    today = timezone.localdate()
    return MemberFactory(birthday=date(1990, today.month, 1), marketing_consent=True, **fields)


def drawn(member: Member, campaign: Campaign) -> str:
    """Where the member falls: the global control group, the campaign's holdout or reached."""
    control = control_group()
    if in_share(member.pk, percent=control.percent, salt=control.salt):
        return "control"
    if in_share(member.pk, percent=campaign.holdout_percent, salt=campaign.salt):
        return "holdout"
    return "reached"


def test_hq_runs_a_birthday_month_campaign_and_a_member_finds_the_coupon_and_the_message(
    watched,  # noqa: F811
    stores,  # noqa: F811
    console,
):
    control = control_group()
    control.percent = Decimal("5")
    control.save()
    CouponTemplateFactory(name="生日礼券", kind="cash", threshold=None, amount=20)
    MessageTemplate.objects.create(
        name="生日祝福（站内信）", channel="inbox", purpose="marketing",
        title="{name}，生日快乐", body="{coupon}已放入您的券包，本月到店可用。", link="/m/coupons",
    )  # fmt: skip
    members = [birthday_member() for _ in range(30)]
    MemberFactory(birthday=date(1990, timezone.localdate().month % 12 + 1, 1))  # not this month

    # The marketer makes the campaign in the console
    console.goto("/admin/marketing/campaign/add/")
    console.locator("#id_name").fill("生日月礼遇")
    console.locator("#id_audience").select_option("all")
    console.locator("#id_trigger").select_option("birthday_month")
    console.locator("#id_holdout_percent").fill("10")
    console.locator("#id_actions-0-kind").select_option("coupon")
    console.locator("#id_actions-0-coupon_template").select_option(label="生日礼券")
    console.get_by_role("button", name=re.compile("添加另一个")).click()
    console.locator("#id_actions-1-kind").select_option("message")
    console.locator("#id_actions-1-message_template").select_option(label="生日祝福（站内信）")
    console.get_by_role("button", name="保存并继续编辑").click()
    expect(console.locator(".messagelist")).to_contain_text("成功添加了")
    campaign = Campaign.objects.get(name="生日月礼遇")
    assert campaign.status == "draft" and campaign.actions.count() == 2

    # One member this month in the holdout, one reached: the draw is by the campaign's salt
    while "holdout" not in {drawn(member, campaign) for member in members}:
        members.append(birthday_member())
    held_out = next(m for m in members if drawn(m, campaign) == "holdout")
    reached = next(m for m in members if drawn(m, campaign) == "reached")
    Member.objects.filter(pk=reached.pk).update(phone=PHONE, name="王安")
    outside_control = [m for m in members if drawn(m, campaign) != "control"]
    holdout_count = sum(drawn(m, campaign) == "holdout" for m in members)

    # The dry run says, before anything starts, whom it would reach and what it costs
    console.reload()
    dry_run = console.locator(".field-dry_run")
    expect(dry_run).to_contain_text(
        f"将触达 {len(outside_control) - holdout_count} 位会员"
        f"（人群 {len(outside_control)}，留出 {holdout_count}）"
    )
    expect(dry_run).to_contain_text(f"{len(outside_control) - holdout_count} 张券")

    # Scheduled, then run now from the list of campaigns
    console.goto("/admin/marketing/campaign/")
    for action, said in (("schedule", "已排期"), ("run_now", "已触达或留出")):
        console.locator(f"input[name=_selected_action][value='{campaign.pk}']").check()
        console.locator("select[name=action]").select_option(action)
        console.locator("button[name=index], input[name=index]").first.click()
        expect(console.locator(".messagelist")).to_contain_text(said)
    campaign.refresh_from_db()
    assert campaign.status == "running"
    messages_send_due()  # the outbox's job, every minute

    # The reached member finds the coupon and the message in /m/
    page = watched
    page.goto("/m/coupons")
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/m/coupons$"))
    coupon = Coupon.objects.get(member=reached)
    expect(page.locator(f"li[data-code='{coupon.code}']")).to_contain_text("生日礼券")
    accessible(page)
    page.goto("/m/inbox")
    message = page.locator(".message", has_text="王安，生日快乐")
    expect(message).to_contain_text("生日礼券已放入您的券包")
    accessible(page)

    # The held-out member, and the control group, got nothing
    for member in [held_out, *(m for m in members if drawn(m, campaign) == "control")]:
        assert not Coupon.objects.filter(member=member).exists()
        assert not Message.objects.filter(member=member).exists()
    assert Coupon.objects.filter(template__name="生日礼券").count() == (
        len(outside_control) - holdout_count
    )
