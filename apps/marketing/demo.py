from django.utils import timezone

from apps.core.demo import DemoContext
from apps.marketing.campaigns import campaign_transition
from apps.marketing.care_demo import seed_care
from apps.marketing.models import Campaign, CampaignAction, MessageTemplate
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
        "wechat_fields": "thing1: {store}\nthing2: 订单已备好，请凭取货码到店取货",
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
    _campaigns_seed(made)
    ctx.notes.append(
        "Marketing: message templates for the inbox, texts and WeChat; a member-day note "
        f"in {DEMO_PHONE}'s inbox (GET /api/v1/me/messages); a birthday-month campaign and a "
        "Wednesday member-day campaign with a 10% holdout, scheduled (/admin/marketing/campaign/)."
    )
    seed_care(ctx)


CAMPAIGNS = [
    (
        "生日月礼遇",
        {"trigger": Campaign.Trigger.BIRTHDAY_MONTH, "hour": 9, "budget_points": 200_000},
        [
            {"kind": CampaignAction.Kind.POINTS, "amount": 200},
            {"kind": CampaignAction.Kind.MESSAGE, "template": "生日礼（短信）"},
        ],
    ),
    (
        "周三会员日",
        {
            "trigger": Campaign.Trigger.WEEKLY,
            "weekday": 3,
            "hour": 10,
            "holdout_percent": 10,
            "budget_points": 50_000,
            "budget_period": Campaign.Period.WEEK,
        },
        [
            {"kind": CampaignAction.Kind.POINTS, "amount": 50, "per_member_limit": 4},
            {"kind": CampaignAction.Kind.MESSAGE, "template": "会员日提醒（站内信）"},
        ],
    ),
]


def _campaigns_seed(templates: dict[str, MessageTemplate]) -> None:
    """The demo's campaigns, scheduled the first time (a second run changes nothing)."""
    for name, fields, actions in CAMPAIGNS:
        campaign, _created = Campaign.objects.get_or_create(name=name, defaults=fields)
        for action in actions:
            action = dict(action)
            if template := action.pop("template", None):
                action["message_template"] = templates[template]
            CampaignAction.objects.get_or_create(
                campaign=campaign, kind=action.pop("kind"), defaults=action
            )
        if campaign.status == Campaign.Status.DRAFT:
            campaign_transition(campaign=campaign, to=Campaign.Status.SCHEDULED, actor=None)
