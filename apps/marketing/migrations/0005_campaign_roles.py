from django.db import migrations

from apps.core import roles

CAMPAIGNS = [
    "marketing.add_campaign",
    "marketing.change_campaign",
    "marketing.view_campaign",
    "marketing.run_campaign",
    "marketing.view_controlgroup",
]
GRANTS = {
    roles.OPERATIONS: [*CAMPAIGNS, "marketing.change_controlgroup"],
    roles.MARKETING: CAMPAIGNS,
}


class Migration(migrations.Migration):
    dependencies = [("marketing", "0004_campaigns")]
    operations = [
        migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop)
    ]
