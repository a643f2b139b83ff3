"""The demo's member care: HQ's three care tasks, today's lists (S001–S003 among them),
and a call already done at S001 so that completion shows. Running again adds nothing."""

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.marketing.care import care_lists_make
from apps.marketing.models import CareCall, CareTask
from apps.stores.models import Staff

TASKS = [
    {
        "name": "沉睡会员回访（60 天）",
        "kind": CareTask.Kind.DORMANT,
        "days": 60,
        "script": "您好，我是店里的导购，好久没见您了。店里新品到了，这周会员日积分翻倍，"
        "欢迎来看看。",
    },
    {
        "name": "本周生日问候",
        "kind": CareTask.Kind.BIRTHDAY_WEEK,
        "days": 0,
        "script": "生日快乐！您的生日礼券已经放进券包，到店出示会员码就能用。",
    },
    {
        "name": "新会员欢迎（3 天内）",
        "kind": CareTask.Kind.WELCOME,
        "days": 3,
        "script": "欢迎加入会员！跟您介绍一下积分和会员日，有问题随时找我。",
    },
]


def seed_care(ctx: DemoContext) -> None:
    for fields in TASKS:
        CareTask.objects.update_or_create(name=fields["name"], defaults=fields)
    care_lists_make()
    today = timezone.localdate()
    calls = CareCall.objects.filter(day=today, store__code__in=["S001", "S002", "S003"])
    guide = (
        Staff.objects.filter(store__code="S001", role=Staff.Role.GUIDE, is_active=True)
        .select_related("user")
        .first()
    )
    first = calls.filter(store__code="S001").order_by("pk").first()
    if guide and first and not calls.filter(done_at__isnull=False).exists():
        first.outcome = CareCall.Outcome.REACHED
        first.note = "周末来店看新品"
        first.done_at = timezone.now()
        first.done_by = guide.user
        first.save()
    ctx.notes.append(
        "Member care: three care tasks; today's lists at "
        + "、".join(
            f"{code} {calls.filter(store__code=code).count()}" for code in ("S001", "S002", "S003")
        )
        + " calls (/dashboard/stores/S001/care/, HQ and dealers: /dashboard/care/)."
    )
