import random
from datetime import timedelta

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.members.models import Member
from apps.points.models import EarningRule, Entry, PointsWindow
from apps.points.services import points_earn

DEMO_PHONE = "13800000000"
MEMBERS_WITH_POINTS = 200
# The demo member's history: the 5,000 points API.md promises, and the 1,000 their last
# demo order spends (apps/orders/demo.py).
DEMO_HISTORY_POINTS = 6000


def seed(ctx: DemoContext) -> None:
    """The demo member holds 5,000 points; a few hundred others some history.

    Orders (a later app) add the rest; a member gets one demo grant (its cause is the member),
    so a second run adds nothing.
    """
    EarningRule.objects.update_or_create(
        name="消费积分：每 1 元得 1 分",
        defaults={"kind": EarningRule.Kind.RATE, "points_per_yuan": 1},
    )
    EarningRule.objects.update_or_create(
        name="周三会员日双倍积分",
        defaults={"kind": EarningRule.Kind.MULTIPLIER, "multiplier": 2, "weekdays": "3"},
    )
    EarningRule.objects.update_or_create(
        name="开卡礼 100 积分",
        defaults={
            "kind": EarningRule.Kind.BONUS,
            "event": "join",
            "points": 100,
            "limit_count": 1,
            "limit_period": EarningRule.Period.EVER,
        },
    )
    EarningRule.objects.update_or_create(
        name="完善资料送 50 积分",
        defaults={"kind": EarningRule.Kind.BONUS, "event": "profile_complete", "points": 50},
    )
    demo = Member.objects.get(phone=DEMO_PHONE)
    points_earn(
        member=demo,
        amount=DEMO_HISTORY_POINTS,
        cause_kind=Entry.CauseKind.DEMO,
        cause_id=demo.pk,
        pending=False,
        kind=Entry.Kind.ADJUST,
        description="历史积分迁入",
    )
    members = list(Member.objects.exclude(phone=DEMO_PHONE).order_by("pk")[:MEMBERS_WITH_POINTS])
    for member in members:
        # Drawn per member, so that another --members count gives each member the same grant.
        rng = random.Random(f"{ctx.seed}:{member.phone}")
        days_ago = rng.randint(1, 500)
        points_earn(
            member=member,
            amount=rng.randint(20, 2000),
            cause_kind=Entry.CauseKind.DEMO,
            cause_id=member.pk,
            pending=False,
            kind=Entry.Kind.ADJUST,
            description="历史积分迁入",
            now=timezone.now() - timedelta(days=days_ago),
            part=0,  # every member in the demo's one transaction
        )
    ctx.notes.append(f"Points: a history for the demo member and {len(members)} other members.")
    _seed_windows(ctx)


def _seed_windows(ctx: DemoContext) -> None:
    """Exchanging points for coupons limited to themed windows: 感恩回馈月 open now, and
    the next one after it, which the member centre names. Made once, on the first run."""
    today = timezone.localdate()
    now_open, _made = PointsWindow.objects.get_or_create(
        name="感恩回馈月",
        use=PointsWindow.Use.EXCHANGE,
        defaults={"starts_on": today - timedelta(days=3), "ends_on": today + timedelta(days=27)},
    )
    PointsWindow.objects.get_or_create(
        name="年终积分节",
        use=PointsWindow.Use.EXCHANGE,
        defaults={
            "starts_on": now_open.ends_on + timedelta(days=31),
            "ends_on": now_open.ends_on + timedelta(days=45),
        },
    )
    ctx.notes.append(
        f"Points windows: exchanging points for coupons is open during 感恩回馈月 until "
        f"{now_open.ends_on}, then again from {now_open.ends_on + timedelta(days=31)}."
    )
