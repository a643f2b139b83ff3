from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: ["tiers.add_tier", "tiers.change_tier", "tiers.view_tier", "tiers.view_growthentry",
                       "tiers.view_tierchange", "tiers.add_tierchannelbenefit", "tiers.change_tierchannelbenefit",
                       "tiers.view_tierchannelbenefit"],
    roles.MARKETING: ["tiers.view_tier", "tiers.view_tierchange", "tiers.view_tierchannelbenefit"],
    roles.CUSTOMER_SERVICE: ["tiers.view_tier", "tiers.view_growthentry", "tiers.view_tierchange"],
}


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial"), ("stores", "0002_hq_roles")]
    operations = [migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop)]
