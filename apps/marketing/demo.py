import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.coupons.models import CouponTemplate
from apps.mall.models import Sku
from apps.marketing.campaigns import campaign_run, campaign_transition
from apps.marketing.care_demo import seed_care
from apps.marketing.models import Campaign, CampaignAction, CampaignMember, MessageTemplate
from apps.marketing.outbox import messages_queue, messages_send_due
from apps.marketing.report import campaign_report
from apps.members.demo import DEMO_PHONE
from apps.members.models import Member
from apps.orders.demo import demo_basket, demo_sale

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
    report = _finished_campaign_seed(ctx)
    ctx.notes.append(
        "Marketing: message templates for the inbox, texts and WeChat; a member-day note "
        f"in {DEMO_PHONE}'s inbox (GET /api/v1/me/messages); a birthday-month campaign and a "
        "Wednesday member-day campaign with a 10% holdout, scheduled; and "
        f"{FINISHED}, ended, whose report compares {report.reached} members reached with "
        f"{report.holdout} held out (/admin/marketing/campaign/)."
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


FINISHED = "春季回购礼"
FINISHED_STARTED_DAYS_AGO = 70
FINISHED_COUPON = {
    "kind": "cash",
    "amount": Decimal(10),
    "valid_days": 30,
    "claimable": False,
    "description": "春季回购礼：无门槛立减 10 元，30 天内有效。",
}
# The share of each group that buys in the 30 days after the campaign (the coupon works),
# among the first SHOPPERS members it was for: enough for an interval, quick to seed.
BUYERS = {CampaignMember.Group.REACHED: 0.35, CampaignMember.Group.HOLDOUT: 0.15}
SHOPPERS = 800


def _finished_campaign_seed(ctx: DemoContext):
    """A one-off campaign of 70 days ago that gave every member outside its 20% holdout a
    10-yuan coupon; some of each group bought in the 30 days after it, through the POS's
    order service (not with the coupon: a dated sale is priced at the real now, when the
    coupon has long expired), and it has ended: its report has figures. Run once: the
    ended campaign is not run again, and each order has a fixed external id."""
    started = timezone.now() - timedelta(days=FINISHED_STARTED_DAYS_AGO)
    coupon, _created = CouponTemplate.objects.get_or_create(
        name="春季回购礼 立减10元", defaults=FINISHED_COUPON
    )
    campaign, created = Campaign.objects.get_or_create(
        name=FINISHED,
        defaults={
            "trigger": Campaign.Trigger.ONCE,
            "holdout_percent": 20,
            "starts_at": started,
            "ends_at": started + timedelta(days=30),
            "salt": f"demo-{ctx.seed}",
        },
    )
    if created:
        CampaignAction.objects.create(
            campaign=campaign, kind=CampaignAction.Kind.COUPON, coupon_template=coupon
        )
        campaign_transition(campaign=campaign, to=Campaign.Status.SCHEDULED, actor=None)
        campaign_run(campaign_id=campaign.pk, now=started)
        _orders_after(ctx, campaign, started)
        campaign_transition(campaign=campaign, to=Campaign.Status.ENDED, actor=None)
    return campaign_report(campaign)


def _orders_after(ctx: DemoContext, campaign: Campaign, started) -> None:
    products = list(
        Sku.objects.filter(active=True, product__active=True, product__members_only=False)
        .select_related("product")
        .order_by("sku")
    )
    drawn = (
        CampaignMember.objects.filter(campaign=campaign)
        .exclude(member__phone=DEMO_PHONE)  # the demo member's figures stay as API.md says
        .select_related("member__home_store")
        .order_by("member_id")[:SHOPPERS]
    )
    for drawn_member in drawn:
        member = drawn_member.member
        rng = random.Random(f"{ctx.seed}:campaign:{member.phone}")
        if member.home_store is None or rng.random() >= BUYERS[drawn_member.group]:
            continue
        demo_sale(
            member.home_store,
            member,
            demo_basket(rng, products),
            external_id=f"DEMO-CAMPAIGN-{member.phone}",
            when=started + timedelta(days=rng.randint(1, 25), minutes=rng.randint(0, 600)),
        )
