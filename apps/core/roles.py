"""HQ roles as Django groups, and the helper later apps' data migrations use to grant them
permissions on their own models.

A role holds what its work needs and never the power to give power: no role has a
permission of the `auth` app, and the console lets only a superuser edit groups, grant
permissions or groups, make staff or superusers, or set another user's password
(apps.core.admin). tests/core/test_admin_roles.py holds what each role may do on every
console page."""

OPERATIONS = "总部运营"
MARKETING = "总部市场"
FINANCE = "总部财务"
CUSTOMER_SERVICE = "总部客服"
HQ_ROLES = (OPERATIONS, MARKETING, FINANCE, CUSTOMER_SERVICE)


def grant(apps, grants: dict[str, list[str]]) -> None:
    """In a data migration: give each group the permissions 'app_label.codename'.

    Permissions are normally created after all migrations ran; they are created here first
    so that a fresh database gets its roles in one `migrate`.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, perms in grants.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
