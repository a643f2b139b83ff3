"""A member reads the inbox in /m/ (the card says how many are unread, and when points can
be exchanged again); a store's guide works through today's care list on a phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.core.models import AuditEntry
from apps.marketing.models import CareCall, CareTask, Message, MessageTemplate
from apps.marketing.outbox import messages_queue, messages_send_due
from apps.points.models import PointsWindow
from tests.browser.test_member_centre import PHONE, accessible, sign_in, stores, watched  # noqa: F401
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_reads_the_inbox_and_the_card_counts_what_is_unread(watched, stores):  # noqa: F811
    page = watched
    member = MemberFactory(phone=PHONE, home_store=stores["S002"], name="王安")
    notice = MessageTemplate.objects.create(
        name="取货提醒", channel="inbox", purpose="transactional", title="{name}，可以取货了",
        body="您在{store}的订单已备好", link="/m/orders",
    )  # fmt: skip
    news = MessageTemplate.objects.create(
        name="会员日", channel="inbox", purpose="transactional", title="会员日到了",
        body="本周六全场双倍积分",
    )  # fmt: skip
    messages_queue(template=notice, member_ids=[member.pk], cause_kind="test", cause_id=1)
    messages_queue(template=news, member_ids=[member.pk], cause_kind="test", cause_id=2)
    messages_send_due()
    opens = timezone.localdate() + timedelta(days=5)
    PointsWindow.objects.create(
        name="感恩回馈月", use="exchange", starts_on=opens, ends_on=opens + timedelta(days=30)
    )

    page.goto("/m/")
    sign_in(page)
    expect(page.locator("#inbox-link")).to_have_text("消息：2 条未读")
    expect(page.locator("#windows")).to_contain_text("积分兑换优惠券将于")
    expect(page.locator("#windows")).to_contain_text("感恩回馈月")
    accessible(page)

    page.locator("#inbox-link").click()
    expect(page).to_have_url(re.compile(r"/m/inbox$"))
    expect(page.locator(".message.unread")).to_have_count(2)
    accessible(page)
    news_item = page.locator(".message", has_text="会员日到了")
    news_item.get_by_role("button", name="标为已读").click()
    expect(page.locator(".message.unread")).to_have_count(1)
    assert Message.objects.get(template=news).read_at is not None

    page.locator(".message", has_text="可以取货了").get_by_role("link", name="查看").click()
    expect(page).to_have_url(re.compile(r"/m/orders$"))
    assert not Message.objects.filter(read_at__isnull=True).exists()
    page.goto("/m/")
    expect(page.locator("#inbox-link")).to_have_text("消息")


def test_a_guide_calls_a_member_on_todays_care_list_and_marks_it_done(phone):
    store = StoreFactory(code="S001", name="上海恒隆店")
    user = UserFactory(username="guide_S001")
    user.set_password("demo12345")
    user.save()
    StaffFactory(user=user, store=store, role="guide")
    member = MemberFactory(phone="13900001111", name="王安", home_store=store)
    task = CareTask.objects.create(
        name="沉睡会员回访", kind="dormant", days=60, script="王姐好久不见，新品到店了"
    )
    call = CareCall.objects.create(task=task, store=store, member=member, day=timezone.localdate())

    phone.goto("/dashboard/")
    phone.get_by_label("用户名").fill("guide_S001")
    phone.get_by_label("密码").fill("demo12345")
    phone.get_by_role("button", name="登录").click()
    phone.get_by_role("link", name="会员关怀").click()
    expect(phone).to_have_url(re.compile(r"/dashboard/stores/S001/care/$"))
    row = phone.locator(f"#call-{call.pk}")
    expect(row).to_contain_text("139****1111")
    expect(row).to_contain_text("新品到店了")
    heights = phone.locator(
        ".care button, .care select, .care input:not([type=hidden])"
    ).evaluate_all("controls => controls.map(c => c.getBoundingClientRect().height)")
    assert heights and min(heights) >= 44

    row.get_by_role("button", name="拨打").click()
    expect(phone.locator(f"#call-{call.pk} a[href='tel:13900001111']")).to_be_visible()
    assert AuditEntry.objects.filter(action="member.phone_reveal").count() == 1

    row = phone.locator(f"#call-{call.pk}")
    row.get_by_label("回访结果").select_option("reached")
    row.get_by_placeholder("备注（可不填）").fill("周末来店")
    row.get_by_role("button", name="完成").click()
    expect(phone.get_by_text("已标记完成。")).to_be_visible()
    expect(phone.locator(f"#call-{call.pk}")).to_contain_text("已沟通")
    call.refresh_from_db()
    assert call.outcome == "reached" and call.done_by == user
