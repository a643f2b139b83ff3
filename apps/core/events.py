"""The event outbox (DESIGN.md, Events).

A service calls `event_emit` inside its transaction; the event row commits or rolls back
with the business change. After commit the event is dispatched (in-process on the
embedded default, by a Celery worker in production). Higher apps register handlers with
`@on_event("order_paid")`. Each handler runs in its own transaction together with a
row that records it ran, so a handler's work commits exactly once per event however
often the event is dispatched; a handler that fails is retried with backoff by
`events_retry_due` until it succeeds or EVENT_MAX_ATTEMPTS is reached.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.bulk import rows_insert
from apps.core.models import Event, EventHandling
from apps.core.queue import enqueue
from apps.core.rows import (
    column,
    columns,
    database_for_read,
    instance,
    row_insert,
    row_update,
    table,
)

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
_handlers: dict[str, dict[str, Handler]] = defaultdict(dict)

# An event not dispatched this long after it was written is picked up by the retry job.
DISPATCH_GRACE = timedelta(minutes=1)
_RETRY_BATCH = 500
_MAX_BACKOFF = timedelta(hours=1)


def on_event(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for events called `name`. Handlers must be idempotent in effect."""

    def register(handler: Handler) -> Handler:
        _handlers[name][f"{handler.__module__}.{handler.__qualname__}"] = handler
        return handler

    return register


def handlers_for(name: str) -> dict[str, Handler]:
    return dict(_handlers.get(name, {}))


def event_emit(*, name: str, payload: dict) -> Event:
    now = timezone.now()
    event = Event(name=name, payload=payload, created_at=now, next_attempt_at=now + DISPATCH_GRACE)
    row_insert(event)
    transaction.on_commit(lambda: _schedule_dispatch([event.pk]))
    return event


def events_emit(*, name: str, payloads: list[dict]) -> int:
    """Many events of one kind in one insert, as a nightly job makes them. Returns how many."""
    now = timezone.now()
    due = now + DISPATCH_GRACE
    event_ids = rows_insert(
        Event,
        [
            {"name": name, "payload": payload, "created_at": now, "next_attempt_at": due}
            for payload in payloads
        ],
    )
    if event_ids:
        transaction.on_commit(lambda: _schedule_dispatch(event_ids))
    return len(event_ids)


def _schedule_dispatch(event_ids: list[int]) -> None:
    from apps.core.tasks import events_dispatch_task

    enqueue(events_dispatch_task, event_ids)


_PENDING_SQL = (
    f"SELECT {columns(Event, 'e')}, h.{column(EventHandling, 'handler')} FROM {table(Event)} e "
    f"LEFT JOIN {table(EventHandling)} h ON h.{column(EventHandling, 'event')} = "
    f"e.{column(Event, 'pk')} WHERE e.{column(Event, 'pk')} = %s "
    f"AND e.{column(Event, 'status')} = %s"
)


def _pending(event_id: int) -> tuple[Event | None, set[str]]:
    """The event if it is pending, and the handlers that ran on it: in one statement by
    hand, as every sale's event is dispatched."""
    using = database_for_read(Event)
    with connections[using].cursor() as cursor:
        cursor.execute(_PENDING_SQL, [event_id, Event.Status.PENDING])
        rows = cursor.fetchall()
    if not rows:
        return None, set()
    return instance(Event, rows[0][:-1], using), {row[-1] for row in rows if row[-1]}


def event_dispatch(*, event_id: int) -> bool:
    """Run every handler of the event that has not run yet. True when all have run."""
    event, done = _pending(event_id)
    if event is None:
        return True
    errors = []
    for handler_name, handler in handlers_for(event.name).items():
        if handler_name in done:
            continue
        try:
            with transaction.atomic():
                if not _mark_handled(event, handler_name):
                    continue
                handler(event)
        except Exception as exc:
            logger.exception("Handler %s failed on event %s", handler_name, event.pk)
            errors.append(f"{handler_name}: {exc!r}")
    if errors:
        _record_failure(event, "\n".join(errors))
        return False
    event.status, event.handled_at, event.last_error = Event.Status.DONE, timezone.now(), ""
    row_update(event, "status", "handled_at", "last_error")
    return True


def _mark_handled(event: Event, handler_name: str) -> bool:
    """False when another dispatcher ran this handler and committed first (one that is
    running it holds the row until it commits or rolls back, and this one waits)."""
    handling = EventHandling(event=event, handler=handler_name)
    return row_insert(handling, unless_taken="event_handled_once")


def _record_failure(event: Event, error: str) -> None:
    attempts = event.attempts + 1
    backoff = min(timedelta(seconds=30 * 2 ** (attempts - 1)), _MAX_BACKOFF)
    status = (
        Event.Status.FAILED if attempts >= settings.EVENT_MAX_ATTEMPTS else Event.Status.PENDING
    )
    Event.objects.filter(pk=event.pk).update(
        attempts=F("attempts") + 1,
        last_error=error[:10_000],
        next_attempt_at=timezone.now() + backoff,
        status=status,
    )


def events_retry_due(*, now=None) -> int:
    """Dispatch pending events whose time has come, oldest first, one batch a run."""
    due = (
        Event.objects.filter(
            status=Event.Status.PENDING, next_attempt_at__lte=now or timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:_RETRY_BATCH]
    )
    event_ids = list(due)
    for event_id in event_ids:
        event_dispatch(event_id=event_id)
    return len(event_ids)


def events_requeue(*, event_ids: list[int]) -> list[int]:
    """HQ asks for failed or waiting events to be tried again now. Returns those requeued."""
    with transaction.atomic():
        requeue = list(
            Event.objects.filter(pk__in=event_ids)
            .exclude(status=Event.Status.DONE)
            .values_list("pk", flat=True)
        )
        Event.objects.filter(pk__in=requeue).update(
            status=Event.Status.PENDING, next_attempt_at=timezone.now() + DISPATCH_GRACE
        )
        if requeue:
            transaction.on_commit(lambda: _schedule_dispatch(requeue))
    return requeue
