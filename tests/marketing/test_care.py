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


def test_the_demos_care_lists_and_windows_are_made_once():
    from apps.core.demo import DemoContext
    from apps.marketing.care_demo import seed_care
    from apps.points.demo import _seed_windows
    from apps.points.models import PointsWindow
    from tests.stores.factories import StaffFactory

    stores = [StoreFactory(code=code) for code in ("S001", "S002", "S003")]
    StaffFactory(store=stores[0], role="guide")
    for store in stores:
        MemberFactory(home_store=store, joined_at=timezone.now())
    ctx = DemoContext(seed=1, members=0, rng=None, fake=None)

    for _ in range(2):
        seed_care(ctx)
        _seed_windows(ctx)

    today = timezone.localdate()
    assert CareTask.objects.count() == 3
    assert sorted(CareCall.objects.filter(day=today).values_list("store__code", flat=True)) == [
        "S001",
        "S002",
        "S003",
    ]
    assert CareCall.objects.filter(done_at__isnull=False).count() == 1
    assert PointsWindow.objects.count() == 2
