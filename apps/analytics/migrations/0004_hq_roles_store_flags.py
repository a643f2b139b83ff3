"""The store figures and the rules that flag a store on the HQ front page: operations tunes
the rules, finance and marketing read the figures. The rules start as below; HQ tunes them
in the console (经营数据 › 门店异常规则)."""

from decimal import Decimal

from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: [
        "analytics.view_dailystorerollup",
        "analytics.view_storeflagrule", "analytics.change_storeflagrule",
    ],
    roles.MARKETING: ["analytics.view_dailystorerollup"],
    roles.FINANCE: ["analytics.view_dailystorerollup", "analytics.view_storeflagrule"],
}
# figure: (days, times the peers' median, at least)
RULES = {
    "points_redeemed": (7, Decimal(3), 20000),
    "coupons_used": (7, Decimal(3), 30),
    "manual_points": (7, Decimal(3), 2000),
    "coupons_gifted": (7, Decimal(3), 20),
}


def install(apps, schema_editor):
    roles.grant(apps, GRANTS)
    StoreFlagRule = apps.get_model("analytics", "StoreFlagRule")
    for figure, (days, multiple, min_volume) in RULES.items():
        StoreFlagRule.objects.get_or_create(
            figure=figure, defaults={"days": days, "multiple": multiple, "min_volume": min_volume}
        )


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_store_flags"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
