from django.utils import timezone

from apps.core.demo import DemoContext
from apps.marketing.care_demo import seed_care
from apps.marketing.models import MessageTemplate
from apps.marketing.outbox import messages_queue, messages_send_due
from apps.members.demo import DEMO_PHONE
from apps.members.models import Member

TEMPLATES = [
    {
        "name": "会员日提醒（站内信）",
        "channel": "inbox",
        "purpose": "marketing",
        "title": "{name}，本周三会员日",
        "body": "{tier}会员日积分翻倍，您现有 {points} 积分，{store}等您来。",
        "link": "/m/",
    },
    {
        "name": "生日礼（短信）",
        "channel": "sms",
        "purpose": "marketing",
        "body": "{name}生日快乐！{coupon}已放入您的券包，{link}",
        "link": "/m/coupons",
    },
    {
        "name": "取货提醒（微信）",
        "channel": "wechat",
        "purpose": "transactional",
        "title": "订单可以取货了",
        "body": "您在{store}的订单已备好，请凭取货码到店取货。",
        "link": "/m/orders",
        "wechat_template_id": "demo-pickup-template",
    },
]


def seed(ctx: DemoContext) -> None:
    """Message templates for each channel, and a member-day note in the demo member's
    inbox (queued once: running again adds nothing)."""
    made = {
        fields["name"]: MessageTemplate.objects.update_or_create(
            name=fields["name"], defaults=fields
        )[0]
        for fields in TEMPLATES
    }
    member = Member.objects.get(phone=DEMO_PHONE)
    messages_queue(
        template=made["会员日提醒（站内信）"],
        member_ids=[member.pk],
        cause_kind="demo",
        cause_id=1,
    )
    messages_send_due(now=timezone.now())
    ctx.notes.append(
        "Marketing: message templates for the inbox, texts and WeChat; a member-day note "
        f"in {DEMO_PHONE}'s inbox (GET /api/v1/me/messages)."
    )
    seed_care(ctx)
