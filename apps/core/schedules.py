"""Celery beat schedules as rows (django-celery-beat), so HQ can see and change them in the
admin. Apps install theirs from a data migration with these helpers."""

TIMEZONE = "Asia/Shanghai"


def install(apps, schedules: list[tuple[str, str, str, str]]) -> None:
    """schedules: (name, task, crontab minute, crontab hour)."""
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in schedules:
        crontab, _created = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=TIMEZONE,
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "crontab": crontab}
        )


def uninstall(apps, schedules: list[tuple[str, str, str, str]]) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[schedule[0] for schedule in schedules]).delete()
