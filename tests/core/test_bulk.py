"""rows_insert: many rows in one statement, Django's defaults filled in, ids returned."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.bulk import custom_plans, rows_insert
from apps.core.models import Event, EventHandling

pytestmark = pytest.mark.django_db


def test_rows_go_in_with_one_statement_and_their_defaults():
    now = timezone.now()
    rows = [
        {"name": "tier_changed", "payload": {"member": n, "to": "金卡"}, "next_attempt_at": now}
        for n in range(500)
    ]

    with CaptureQueriesContext(connection) as captured:
        ids = rows_insert(Event, rows)

    assert len(captured) == 1 and len(ids) == 500
    made = Event.objects.filter(pk__in=ids).order_by("pk")
    assert [e.payload["member"] for e in made] == list(range(500))
    first = made[0]
    assert (first.status, first.attempts, first.last_error, first.handled_at) == (
        "pending",
        0,
        "",
        None,
    )
    assert first.payload["to"] == "金卡"


def test_several_fields_come_back_as_tuples_and_nothing_in_makes_no_query():
    now = timezone.now()

    back = rows_insert(Event, [{"name": "a", "next_attempt_at": now}], returning=("pk", "name"))

    assert back == [(Event.objects.get().pk, "a")]
    with CaptureQueriesContext(connection) as captured:
        assert rows_insert(Event, []) == []
    assert len(captured) == 0


def test_rows_keyed_by_a_relations_name_go_in_to_its_column():
    event = Event.objects.create(name="e", next_attempt_at=timezone.now())

    ids = rows_insert(EventHandling, [{"event": event.pk, "handler": f"h{n}"} for n in range(3)])

    made = EventHandling.objects.filter(pk__in=ids).order_by("pk")
    assert [(h.event_id, h.handler) for h in made] == [
        (event.pk, "h0"),
        (event.pk, "h1"),
        (event.pk, "h2"),
    ]
    assert made[0].handled_at is not None and len({h.handled_at for h in made}) == 1


@pytest.mark.django_db(transaction=True)
def test_custom_plans_hold_for_the_rest_of_the_transaction_only():
    def plan_cache_mode():
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            return cursor.fetchone()[0]

    with transaction.atomic():
        custom_plans()
        assert plan_cache_mode() == "force_custom_plan"

    assert plan_cache_mode() == "auto"
