import hashlib
from datetime import date
from decimal import Decimal

from django.conf import settings

from apps.core.demo import DemoContext, demo_user
from apps.distributors.models import Distributor
from apps.stores.models import PosApiKey, Staff, Store, new_guide_code
from apps.stores.rules import pos_key_hash
from apps.stores.services import pos_key_create

# code, branch, kind, dealer, province, city, district, address, lat, lng, opened
STORES = [
    (
        "S001",
        "上海恒隆店",
        "direct",
        None,
        "上海市",
        "上海市",
        "静安区",
        "南京西路1266号恒隆广场B1层12号",
        "31.228611",
        "121.452778",
        date(2019, 5, 1),
    ),
    (
        "S002",
        "杭州文三路店",
        "franchise",
        "D01",
        "浙江省",
        "杭州市",
        "西湖区",
        "文三路478号华星时代广场1层",
        "30.279320",
        "120.137450",
        date(2021, 3, 18),
    ),
    (
        "S003",
        "苏州观前街店",
        "franchise",
        "D01",
        "江苏省",
        "苏州市",
        "姑苏区",
        "观前街188号",
        "31.311800",
        "120.627100",
        date(2022, 9, 9),
    ),
    (
        "S004",
        "广州天河城店",
        "franchise",
        "D02",
        "广东省",
        "广州市",
        "天河区",
        "天河路208号天河城3层",
        "23.134500",
        "113.325200",
        date(2020, 11, 11),
    ),
    (
        "S005",
        "深圳海岸城店",
        "franchise",
        "D02",
        "广东省",
        "深圳市",
        "南山区",
        "文心五路33号海岸城2层",
        "22.517300",
        "113.936700",
        date(2023, 6, 16),
    ),
    (
        "S006",
        "北京三里屯店",
        "direct",
        None,
        "北京市",
        "北京市",
        "朝阳区",
        "三里屯路19号太古里南区B1层",
        "39.935400",
        "116.454900",
        date(2018, 8, 8),
    ),
]
AREA_CODES = {
    "上海市": "021",
    "杭州市": "0571",
    "苏州市": "0512",
    "广州市": "020",
    "深圳市": "0755",
    "北京市": "010",
}
GUIDES_PER_STORE = 2


def seed(ctx: DemoContext) -> None:
    for code, branch, kind, dealer, province, city, district, address, lat, lng, opened in STORES:
        store, _created = Store.objects.update_or_create(
            code=code,
            defaults={
                "name": f"{settings.BRAND_NAME}·{branch}",
                "kind": kind,
                "distributor": Distributor.objects.get(code=dealer) if dealer else None,
                "province": province,
                "city": city,
                "district": district,
                "address": address,
                "phone": f"{AREA_CODES[city]}-{ctx.rng.randint(60000000, 69999999)}",
                "latitude": Decimal(lat),
                "longitude": Decimal(lng),
                "status": Store.Status.OPEN,
                "opened_on": opened,
            },
        )
        owner = demo_user(ctx, f"owner_{code}", role=f"{code} owner")
        _staff(ctx, owner, Staff.Role.OWNER, store=store)
        for number in range(1, GUIDES_PER_STORE + 1):
            guide = demo_user(ctx, f"guide_{code}_{number}", role=f"{code} guide")
            _staff(ctx, guide, Staff.Role.GUIDE, store=store)

    for dealer in Distributor.objects.filter(code__in=["D01", "D02"]):
        user = demo_user(ctx, f"dealer_{dealer.code}", role=f"{dealer.code} distributor")
        _staff(ctx, user, Staff.Role.OWNER, distributor=dealer)

    _demo_pos_key(ctx, Store.objects.get(code="S001"))


def _staff(ctx: DemoContext, user, role, **place) -> Staff:
    staff, created = Staff.objects.get_or_create(
        user=user, **place, defaults={"role": role, "guide_code": new_guide_code(ctx.rng.choice)}
    )
    if not created and (staff.role != role or not staff.is_active):
        Staff.objects.filter(pk=staff.pk).update(role=role, is_active=True)
    return staff


def _demo_pos_key(ctx: DemoContext, store: Store) -> None:
    """A key that the demo can print on every run, so the POS API can be tried at once."""
    raw_key = (
        "hj_demo_" + hashlib.sha256(f"huiji-demo-{ctx.seed}-{store.code}".encode()).hexdigest()[:32]
    )
    if not PosApiKey.objects.filter(key_hash=pos_key_hash(raw_key)).exists():
        pos_key_create(store=store, name="演示收银台", actor="seed_demo", raw_key=raw_key)
    ctx.notes.append(f"POS API key of {store.code}: {raw_key}")
