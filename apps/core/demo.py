"""Demo data: `manage.py seed_demo` calls `seed(ctx)` of every app's demo.py, in layer order.

Each app seeds its own models, keyed by stable codes so that a second run updates
rather than duplicates, and draws every random choice from `ctx.rng`/`ctx.fake` so
that the same --seed gives the same brand.
"""

import random
from dataclasses import dataclass, field

from django.contrib.auth.models import Group

from apps.core import roles
from apps.core.models import User

DEMO_PASSWORD = "demo12345"


@dataclass
class DemoContext:
    seed: int
    members: int  # how many members to make besides the demo member
    rng: random.Random
    fake: object  # a Faker("zh_CN") seeded with `seed`
    logins: list[tuple[str, str]] = field(default_factory=list)  # (who, what they can do)
    notes: list[str] = field(default_factory=list)


def demo_user(ctx: DemoContext, username: str, *, role: str, **fields) -> User:
    """A login with the demo password, whatever it was changed to since; a Chinese name
    drawn from ctx.fake unless `fields` gives one."""
    names = {"last_name": ctx.fake.last_name(), "first_name": ctx.fake.first_name()}
    user, _created = User.objects.update_or_create(
        username=username, defaults={**names, "is_active": True, **fields}
    )
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    ctx.logins.append((username, role))
    return user


def seed(ctx: DemoContext) -> None:
    demo_user(
        ctx,
        "admin",
        role="HQ superuser",
        last_name="",
        first_name="系统管理员",
        is_staff=True,
        is_superuser=True,
    )
    for username, group_name in [
        ("hq_ops", roles.OPERATIONS),
        ("hq_marketing", roles.MARKETING),
        ("hq_finance", roles.FINANCE),
        ("hq_service", roles.CUSTOMER_SERVICE),
    ]:
        user = demo_user(ctx, username, role=group_name, is_staff=True)
        user.groups.set([Group.objects.get(name=group_name)])
