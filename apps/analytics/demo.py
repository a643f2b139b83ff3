from datetime import timedelta

from django.utils import timezone

from apps.analytics.services import rollup_day
from apps.core.demo import DemoContext

DAYS = 90


def seed(ctx: DemoContext) -> None:
    """The daily figures of the demo's past 90 days, as the ten-minute job would have kept them."""
    today = timezone.localdate()
    for n in range(DAYS):
        rollup_day(today - timedelta(days=n))
    ctx.notes.append(f"Analytics: daily store figures for the last {DAYS} days.")
