"""The outbox: events commit with their cause, are dispatched after commit, and every
handler's work commits exactly once however often dispatch runs or fails."""

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core import events
from apps.core.audit import audit_record
from apps.core.events import event_dispatch, event_emit, events_requeue, events_retry_due, on_event
from apps.core.models import AuditEntry, Event, EventHandling
from tests.conftest import run_together


@pytest.fixture
def registry(monkeypatch):
    """An empty handler registry for the test, restored afterwards."""
    monkeypatch.setattr(events, "_handlers", events.defaultdict(dict))
    return events._handlers


def later(minutes=120):
    return timezone.now() + timedelta(minutes=minutes)


def effects(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


@pytest.mark.django_db
def test_event_is_dispatched_only_after_its_transaction_commits(
    registry, django_capture_on_commit_callbacks
):
    seen = []
    on_event("order_paid")(lambda event: seen.append(event.payload))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_emit(name="order_paid", payload={"order": 42})
        assert seen == []

    assert seen == [{"order": 42}]
    event = Event.objects.get()
    assert event.status == Event.Status.DONE and event.handled_at is not None


@pytest.mark.django_db
def test_rolled_back_transaction_leaves_no_event_and_runs_no_handler(
    registry, django_capture_on_commit_callbacks
):
    seen = []
    on_event("order_paid")(seen.append)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        event_emit(name="order_paid", payload={"order": 1})
        raise RuntimeError("the order failed")

    assert seen == []
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_failing_handler_is_retried_and_its_work_commits_once(
    registry, django_capture_on_commit_callbacks
):
    calls = {"flaky": 0, "steady": 0}

    @on_event("member_joined")
    def flaky(event):
        calls["flaky"] += 1
        audit_record(actor=None, action="flaky.effect")  # undone when the handler then fails
        if calls["flaky"] < 3:
            raise ConnectionError("SMS gateway down")

    @on_event("member_joined")
    def steady(event):
        calls["steady"] += 1
        audit_record(actor=None, action="steady.effect")

    with django_capture_on_commit_callbacks(execute=True):
        event = event_emit(name="member_joined", payload={"member": 7})

    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.PENDING, 1)
    assert "SMS gateway down" in event.last_error
    assert events_retry_due(now=timezone.now()) == 0  # not due yet: it backs off

    assert events_retry_due(now=later()) == 1
    assert events_retry_due(now=later(240)) == 1
    assert events_retry_due(now=later(480)) == 0  # done, nothing left

    event.refresh_from_db()
    assert event.status == Event.Status.DONE
    assert calls == {"flaky": 3, "steady": 1}
    assert effects("flaky.effect") == 1
    assert effects("steady.effect") == 1
    assert EventHandling.objects.filter(event=event).count() == 2


@pytest.mark.django_db
def test_event_that_keeps_failing_is_marked_failed_and_left_alone(
    registry, settings, django_capture_on_commit_callbacks
):
    settings.EVENT_MAX_ATTEMPTS = 2

    @on_event("tier_changed")
    def broken(event):
        raise ValueError("bug")

    with django_capture_on_commit_callbacks(execute=True):
        event = event_emit(name="tier_changed", payload={})
    event.refresh_from_db()
    assert event.attempts == 1

    events_retry_due(now=later())
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Event.Status.FAILED, 2)
    assert events_retry_due(now=later(600)) == 0


@pytest.mark.django_db
def test_hq_requeues_a_failed_event_after_the_fix(
    registry, settings, django_capture_on_commit_callbacks
):
    settings.EVENT_MAX_ATTEMPTS = 1
    fixed = {"yet": False}

    @on_event("order_refunded")
    def handler(event):
        if not fixed["yet"]:
            raise ValueError("bug")

    with django_capture_on_commit_callbacks(execute=True):
        event = event_emit(name="order_refunded", payload={})
    event.refresh_from_db()
    assert event.status == Event.Status.FAILED

    fixed["yet"] = True
    with django_capture_on_commit_callbacks(execute=True):
        assert events_requeue(event_ids=[event.pk]) == [event.pk]

    event.refresh_from_db()
    assert event.status == Event.Status.DONE


@pytest.mark.django_db
def test_event_without_handlers_is_done(registry):
    event = event_emit(name="nobody_listens", payload={})

    assert event_dispatch(event_id=event.pk) is True
    event.refresh_from_db()
    assert event.status == Event.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatch_of_one_event_runs_each_handler_once(registry):
    @on_event("order_paid")
    def slow(event):
        time.sleep(0.3)
        audit_record(actor=None, action="slow.effect")

    with transaction.atomic():
        event = Event.objects.create(name="order_paid", payload={}, next_attempt_at=timezone.now())

    run_together(lambda: event_dispatch(event_id=event.pk), 3)

    assert effects("slow.effect") == 1
    event.refresh_from_db()
    assert event.status == Event.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_reads_the_event_once_and_marks_each_handler_in_its_transaction(registry):
    """Every sale's event is dispatched: one read of the event with what ran on it, then per
    handler its transaction and its mark (no savepoint), then done."""

    @on_event("order_paid")
    def ran_before(event):
        raise AssertionError("ran again")

    @on_event("order_paid")
    def not_yet(event):
        pass

    with transaction.atomic():
        event = Event.objects.create(name="order_paid", payload={}, next_attempt_at=later())
    handled = [f"{h.__module__}.{h.__qualname__}" for h in (ran_before, not_yet)]
    EventHandling.objects.create(event=event, handler=handled[0])

    with CaptureQueriesContext(connection) as captured:
        assert event_dispatch(event_id=event.pk) is True

    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    assert statements == ["SELECT", "BEGIN", "INSERT", "COMMIT", "UPDATE"]
    assert set(EventHandling.objects.values_list("handler", flat=True)) == set(handled)
    event.refresh_from_db()
    assert event.status == Event.Status.DONE
