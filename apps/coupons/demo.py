from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.coupons.issuing import coupon_claim, coupon_issue_for_event
from apps.coupons.models import Coupon, CouponTemplate
from apps.members.models import Member
from apps.stores.models import Store

DEMO_PHONE = "13800000000"

# name, kind, fields
TEMPLATES = [
    (
        "新人满100减20",
        "threshold",
        {
            "threshold": Decimal(100),
            "amount": Decimal(20),
            "total_stock": 1000,
            "claimable": True,
            "valid_days": 30,
            "description": "单笔实付满 100 元可用，领取后 30 天内有效。",
        },
    ),
    (
        "限量闪券",
        "cash",
        {
            "amount": Decimal(10),
            "total_stock": 100,
            "claimable": True,
            "valid_days": 7,
            "daily_limit": 100,
            "description": "无门槛立减 10 元，限量 100 张。",
        },
    ),
    (
        "全场 9 折券",
        "percent",
        {
            "percent_off": Decimal(10),
            "max_discount": Decimal(50),
            "valid_days": 14,
            "points_price": 500,
            "per_member_limit": 3,
            "claimable": False,
            "description": "500 积分兑换，最多优惠 50 元。",
        },
    ),
    (
        "开卡礼：无门槛 5 元",
        "cash",
        {"amount": Decimal(5), "valid_days": 30, "auto_issue": "join"},
    ),
    (
        "生日礼：满 200 减 50",
        "threshold",
        {
            "threshold": Decimal(200),
            "amount": Decimal(50),
            "valid_days": 31,
            "auto_issue": "birthday",
        },
    ),
    (
        "门店赠券：满 50 减 10",
        "threshold",
        {
            "threshold": Decimal(50),
            "amount": Decimal(10),
            "valid_days": 15,
            "per_store_limit": 200,
            "cost_bearer": "store",
            "description": "门店店主赠送，限本店使用。",
        },
    ),
]


def seed(ctx: DemoContext) -> None:
    """The coupons API.md names, a few others of each way to issue, and a wallet for the
    demo member. Keyed, so a second run adds nothing."""
    templates = {}
    for name, kind, fields in TEMPLATES:
        templates[name], _created = CouponTemplate.objects.get_or_create(
            name=name, defaults={"kind": kind, **fields}
        )
    store_gift = templates["门店赠券：满 50 减 10"]
    store_gift.usable_stores.set(Store.objects.filter(code="S001"))
    demo = Member.objects.get(phone=DEMO_PHONE)
    if not Coupon.objects.filter(member=demo, template=templates["新人满100减20"]).exists():
        coupon_claim(template=templates["新人满100减20"], member=demo)
    coupon_issue_for_event(
        template=templates["开卡礼：无门槛 5 元"],
        member=demo,
        cause_kind=Coupon.CauseKind.JOIN,
        cause_id=demo.pk,
    )
    long_ago = timezone.now() - timedelta(days=60)
    coupon_issue_for_event(
        template=templates["生日礼：满 200 减 50"],
        member=demo,
        cause_kind=Coupon.CauseKind.BIRTHDAY,
        cause_id=timezone.localdate(long_ago).year,
        now=long_ago,
    )
    ctx.notes.append(
        f"Coupons: {len(TEMPLATES)} templates; claim 新人满100减20 or 限量闪券 in the mini-program."
    )
