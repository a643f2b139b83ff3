from django.db import migrations

from apps.core import roles

# A campaign's actions are edited in its page (an inline): without these, HQ's marketers
# saw no actions there, and a campaign without actions cannot be scheduled.
ACTIONS = [
    "marketing.add_campaignaction",
    "marketing.change_campaignaction",
    "marketing.delete_campaignaction",
    "marketing.view_campaignaction",
]
GRANTS = {roles.OPERATIONS: ACTIONS, roles.MARKETING: ACTIONS}


class Migration(migrations.Migration):
    dependencies = [("marketing", "0009_h24_receipts_schedule")]
    operations = [
        migrations.RunPython(lambda apps, _: roles.grant(apps, GRANTS), migrations.RunPython.noop)
    ]
