from celery import shared_task

from apps.members.segments import rule_tags_refresh


@shared_task
def rule_tags_refresh_task() -> None:
    rule_tags_refresh()
