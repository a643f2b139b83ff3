from decimal import Decimal

from apps.core.demo import DemoContext
from apps.members.models import Member
from apps.tiers.models import GrowthEntry, Tier
from apps.tiers.services import growth_earn

# code, name, rank, growth to reach it, discount %, points multiplier, birthday gift
TIERS = [
    ("normal", "普通会员", 0, 0, "0", "1.00", ""),
    ("silver", "白银会员", 1, 500, "2", "1.10", "生日 50 积分"),
    ("gold", "黄金会员", 2, 2000, "5", "1.20", "生日礼券 20 元"),
    ("platinum", "铂金会员", 3, 6000, "8", "1.50", "生日礼券 50 元"),
    ("diamond", "钻石会员", 4, 15000, "12", "2.00", "生日礼盒"),
]


def seed(ctx: DemoContext) -> None:
    for code, name, rank, threshold, discount, multiplier, gift in TIERS:
        Tier.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "rank": rank,
                "growth_threshold": threshold,
                "discount_percent": Decimal(discount),
                "points_multiplier": Decimal(multiplier),
                "birthday_gift": gift,
                "free_shipping": rank >= 3,
                "members_only_access": rank >= 2,
            },
        )
    demo = Member.objects.get(phone="13800000000")
    growth_earn(
        member=demo,
        amount=3200,
        kind=GrowthEntry.Kind.ADJUST,
        cause_kind=GrowthEntry.CauseKind.DEMO,
        cause_id=demo.pk,
        description="历史消费成长值",
    )
    ctx.notes.append("Tiers: normal, silver, gold, platinum, diamond; the demo member is gold.")
