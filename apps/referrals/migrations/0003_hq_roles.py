from django.db import migrations

from apps.core import roles

GRANTS = {
    roles.OPERATIONS: [
        "referrals.view_promoter",
        "referrals.change_promoter",
        "referrals.view_commissionrule",
        "referrals.add_commissionrule",
        "referrals.change_commissionrule",
        "referrals.view_commission",
        "referrals.view_commissionentry",
        "referrals.view_withdrawal",
    ],
    roles.FINANCE: [
        "referrals.view_promoter",
        "referrals.view_commissionrule",
        "referrals.view_commission",
        "referrals.view_commissionentry",
        "referrals.view_commissionaccount",
        "referrals.view_withdrawal",
        "referrals.decide_withdrawal",
    ],
    roles.CUSTOMER_SERVICE: ["referrals.view_promoter", "referrals.view_commission"],
}


def grant_roles(apps, schema_editor):
    roles.grant(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("referrals", "0002_system_accounts_and_schedule"), ("points", "0004_hq_roles")]
    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
