from datetime import date, datetime, time, timedelta

from django.utils import timezone

from apps.core.demo import DemoContext
from apps.members.models import Member, MemberIdentity, StoreVisit, new_referral_code
from apps.stores.models import Staff, Store

DEMO_PHONE = "13800000000"
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "177",
    "180",
    "182",
    "186",
    "187",
    "188",
    "189",
    "199",
]
BATCH = 2000


def seed(ctx: DemoContext) -> None:
    stores = list(Store.objects.order_by("code"))
    guides = {
        store.pk: list(Staff.objects.filter(store=store, role=Staff.Role.GUIDE)) for store in stores
    }
    today = timezone.localdate()
    _demo_member(ctx, stores[0], guides[stores[0].pk][0])

    members, phones = [], {DEMO_PHONE}
    while len(phones) < ctx.members + 1:
        phones.add(ctx.rng.choice(MOBILE_PREFIXES) + f"{ctx.rng.randrange(10**8):08d}")
    for phone in sorted(phones - {DEMO_PHONE}):
        store = ctx.rng.choice(stores)
        guide = ctx.rng.choice(guides[store.pk]) if ctx.rng.random() < 0.6 else None
        joined = today - timedelta(days=int(ctx.rng.triangular(0, 730, 60)))
        members.append(
            Member(
                phone=phone,
                name=ctx.fake.name(),
                gender=ctx.rng.choice(["female", "female", "male", ""]),
                birthday=_birthday(ctx) if ctx.rng.random() < 0.7 else None,
                home_store=store,
                guide=guide,
                source=ctx.rng.choice(["store", "store", "miniprogram", "pos"]),
                joined_at=_at(joined, ctx),
                last_active_at=_at(
                    joined + timedelta(days=ctx.rng.randint(0, (today - joined).days)), ctx
                ),
                marketing_consent=ctx.rng.random() < 0.65,
                consent_channel="miniprogram",
                referral_code=new_referral_code(ctx.rng.choice),
            )
        )
    for start in range(0, len(members), BATCH):
        Member.objects.bulk_create(members[start : start + BATCH], ignore_conflicts=True)
    ctx.notes.append(
        f"Members: {Member.objects.count()}. Demo member {DEMO_PHONE}, sign-in code 123456 "
        "(SMS_TEST_CODES)."
    )


def _demo_member(ctx: DemoContext, store: Store, guide: Staff) -> None:
    joined = _at(timezone.localdate() - timedelta(days=400), ctx)
    profile = {
        "name": "林晓",
        "gender": "female",
        "birthday": date(1992, 5, 20),
        "home_store": store,
        "guide": guide,
        "source": "store",
        "status": Member.Status.ACTIVE,
        "joined_at": joined,
        "last_active_at": timezone.now(),
        "marketing_consent": True,
        "consent_at": joined,
        "consent_channel": "store",
    }
    member, _created = Member.objects.update_or_create(
        phone=DEMO_PHONE,
        defaults=profile,
        create_defaults={**profile, "referral_code": new_referral_code(ctx.rng.choice)},
    )
    MemberIdentity.objects.get_or_create(
        kind=MemberIdentity.Kind.WECHAT_OPENID,
        value="fake-openid-demo-member",
        defaults={"member": member},
    )
    if not member.visits.exists():
        StoreVisit.objects.create(member=member, store=store, guide=guide, created_at=joined)


def _birthday(ctx: DemoContext) -> date:
    return date(ctx.rng.randint(1965, 2006), ctx.rng.randint(1, 12), ctx.rng.randint(1, 28))


def _at(day: date, ctx: DemoContext) -> datetime:
    moment = time(ctx.rng.randint(9, 21), ctx.rng.randint(0, 59))
    return timezone.make_aware(datetime.combine(day, moment))
