"""The daily care lists: which members each care task puts on their home store's list,
once, however often the job runs."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from apps.marketing.care import care_lists_make
from apps.marketing.models import CareCall, CareTask
from apps.stores.models import Store
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 10)  # a Wednesday


def at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def listed(task=None) -> set[tuple[str, str]]:
    calls = CareCall.objects.filter(day=TODAY)
    if task:
        calls = calls.filter(task=task)
    return {(c.store.code, c.member.name) for c in calls.select_related("store", "member")}


@pytest.fixture
def stores():
    return StoreFactory(code="S001"), StoreFactory(code="S002")


def test_each_kind_lists_its_members_at_their_home_store(stores):
    s001, s002 = stores
    dormant = CareTask.objects.create(name="沉睡", kind="dormant", days=60, script="好久不见")
    birthday = CareTask.objects.create(name="生日", kind="birthday_week", script="生日快乐")
    welcome = CareTask.objects.create(name="新会员", kind="welcome", days=3, script="欢迎")
    old = at(TODAY - timedelta(days=200))
    MemberFactory(
        name="睡", home_store=s001, joined_at=old, last_active_at=at(TODAY - timedelta(days=61))
    )
    MemberFactory(
        name="醒", home_store=s001, joined_at=old, last_active_at=at(TODAY - timedelta(days=5))
    )
    MemberFactory(
        name="周日生",
        home_store=s002,
        joined_at=old,
        last_active_at=at(TODAY),
        birthday=date(1990, 6, 14),
    )
    MemberFactory(
        name="下周生",
        home_store=s002,
        joined_at=old,
        last_active_at=at(TODAY),
        birthday=date(1990, 6, 15),
    )
    MemberFactory(
        name="新",
        home_store=s002,
        joined_at=at(TODAY - timedelta(days=2)),
        last_active_at=at(TODAY),
    )
    MemberFactory(name="无店", home_store=None, joined_at=at(TODAY), last_active_at=at(TODAY))

    care_lists_make(today=TODAY)

    assert listed(dormant) == {("S001", "睡")}
    assert listed(birthday) == {("S002", "周日生")}
    assert listed(welcome) == {("S002", "新")}


def test_a_rerun_and_the_next_days_add_nobody_twice(stores):
    s001, _ = stores
    task = CareTask.objects.create(name="沉睡", kind="dormant", days=60, script="好久不见")
    MemberFactory.create_batch(5, home_store=s001, joined_at=at(TODAY - timedelta(days=100)))

    assert care_lists_make(today=TODAY) == 5
    assert care_lists_make(today=TODAY) == 0
    assert care_lists_make(today=TODAY + timedelta(days=1)) == 0
    assert CareCall.objects.filter(task=task).count() == 5
    # Still dormant after the task's days: on the list again.
    assert care_lists_make(today=TODAY + timedelta(days=60)) == 5


def test_closed_stores_inactive_tasks_and_closed_accounts_get_no_calls(stores):
    s001, s002 = stores
    Store.objects.filter(pk=s002.pk).update(status=Store.Status.CLOSED)
    CareTask.objects.create(name="沉睡", kind="dormant", days=60, script="x", active=False)
    task = CareTask.objects.create(name="新", kind="welcome", days=3, script="x")
    MemberFactory(name="关店", home_store=s002, joined_at=at(TODAY))
    MemberFactory(name="注销", home_store=s001, joined_at=at(TODAY), status="closed")
    MemberFactory(name="在", home_store=s001, joined_at=at(TODAY))

    care_lists_make(today=TODAY)

    assert listed() == {("S001", "在")}
    assert listed(task) == {("S001", "在")}


def test_the_daily_job_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.filter(task="apps.marketing.tasks.care_lists_task").exists()
