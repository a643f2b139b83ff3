from apps.core.demo import DemoContext
from apps.distributors.models import Distributor, Region

REGIONS = [("EAST", "华东"), ("SOUTH", "华南"), ("NORTH", "华北"), ("SOUTHWEST", "西南")]
DISTRIBUTORS = [
    ("D01", "上海优选商贸有限公司", "EAST"),
    ("D02", "广州粤海贸易有限公司", "SOUTH"),
]


def seed(ctx: DemoContext) -> None:
    for code, name in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name})
    for code, name, region in DISTRIBUTORS:
        Distributor.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "region": Region.objects.get(code=region),
                "contact_name": ctx.fake.name(),
                "contact_phone": ctx.fake.phone_number(),
                "status": Distributor.Status.ACTIVE,
            },
        )
