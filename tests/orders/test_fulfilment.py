"""After an online order is paid: its goods wait to be handed over; picked up once with the
pickup code at its own store, or shipped by the place it ships from and received by the
member or, after ORDER_RECEIVE_DAYS, by the job; never for an order unpaid, cancelled or
refunded."""

import importlib
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.core.models import AuditEntry
from apps.mall.models import Stock
from apps.orders.after_sale import (
    refund_request_approve,
    refund_request_create,
    refund_request_refund,
)
from apps.orders.errors import (
    FulfilmentNotFound,
    NothingToShip,
    NotShipped,
    OrderCancelled,
    OrderNotPaidYet,
    OrderRefunded,
    PickupAlreadyUsed,
    PickupNotFound,
)
from apps.orders.fulfilment import (
    deliveries_receive_due,
    delivery_receive,
    delivery_ship,
    pickup_complete,
)
from apps.orders.models import Fulfilment, Order
from apps.orders.paying import order_cancel
from apps.orders.refunds import order_refund
from apps.orders.tasks import deliveries_receive_task
from apps.stores.models import Staff
from tests.conftest import run_together
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.orders.factories import online_order, order_pay_in_sandbox, stocked
from tests.stores.factories import StaffFactory, StoreFactory


@pytest.fixture
def shop(db):
    store, other = StoreFactory(code="S003"), StoreFactory(code="S002")
    stocked("TEE", stores=[store, other])
    return {"store": store, "other": other, "member": MemberFactory()}


def _stock(store) -> tuple[int, int]:
    stock = Stock.objects.get(sku__sku="TEE", store=store)
    return stock.on_hand, stock.reserved


def _fulfilment(order) -> Fulfilment:
    return Fulfilment.objects.get(pk=order.pk)


def test_paying_puts_the_goods_to_hand_over_and_an_unpaid_order_waits(shop):
    unpaid = online_order(store=shop["store"], member=shop["member"], paid=False)
    paid = online_order(store=shop["store"], member=shop["member"])

    assert _fulfilment(unpaid).status == "waiting"
    assert _fulfilment(paid).status == "to_hand_over"
    order_pay_in_sandbox(paid)  # the gateway's notice again changes nothing
    assert _fulfilment(paid).status == "to_hand_over"


def test_a_pickup_is_handed_over_once_at_its_store(shop):
    clerk = UserFactory()
    order = online_order(store=shop["store"], member=shop["member"], pickup_code="PK123456")
    assert _stock(shop["store"]) == (10, 2)

    done = pickup_complete(store=shop["store"], pickup_code=" PK123456 ", actor=clerk)

    fulfilment = _fulfilment(order)
    assert done.pk == order.pk and done.status == "completed"
    order.refresh_from_db()
    assert order.status == "completed"
    assert (fulfilment.status, fulfilment.done_by) == ("done", clerk)
    assert fulfilment.done_at is not None and fulfilment.shipped_at is None
    assert _stock(shop["store"]) == (8, 0)
    audit = AuditEntry.objects.get(action="fulfilment.pickup")
    assert (audit.actor, audit.target_id, audit.before) == (
        clerk,
        str(order.pk),
        {"status": "to_hand_over"},
    )

    with pytest.raises(PickupAlreadyUsed), transaction.atomic():
        pickup_complete(store=shop["store"], pickup_code="PK123456", actor=clerk)
    assert _stock(shop["store"]) == (8, 0)
    assert AuditEntry.objects.filter(action="fulfilment.pickup").count() == 1


def test_another_stores_code_is_not_found_and_nothing_changes(shop):
    order = online_order(store=shop["store"], member=shop["member"], pickup_code="PK123456")

    for store, code in ((shop["other"], "PK123456"), (shop["store"], "PK000000")):
        with pytest.raises(PickupNotFound), transaction.atomic():
            pickup_complete(store=store, pickup_code=code, actor="pos:S002")

    assert _fulfilment(order).status == "to_hand_over"
    assert _stock(shop["store"]) == (10, 2)
    assert not AuditEntry.objects.filter(action="fulfilment.pickup").exists()


def test_no_goods_leave_for_an_unpaid_cancelled_or_refunded_order(shop):
    store, member = shop["store"], shop["member"]
    online_order(store=store, member=member, paid=False, pickup_code="UNPAID")
    cancelled = online_order(store=store, member=member, paid=False, pickup_code="CANCEL")
    order_cancel(order=cancelled)
    refunded = online_order(store=store, member=member, pickup_code="REFUND")
    order_refund(order=refunded, refund_id="r1", amount=refunded.payable)
    part = online_order(store=store, member=member, pickup_code="PART")
    order_refund(order=part, refund_id="r1", amount=Decimal("1.00"))

    for code, error in (
        ("UNPAID", OrderNotPaidYet),
        ("CANCEL", OrderCancelled),
        ("REFUND", OrderRefunded),
    ):
        with pytest.raises(error) as refused, transaction.atomic():
            pickup_complete(store=store, pickup_code=code, actor="pos:S003")
        assert refused.value.status == 409
    assert (
        list(Fulfilment.objects.filter(status="done").values_list("pickup_code", flat=True)) == []
    )

    pickup_complete(store=store, pickup_code="PART", actor="pos:S003")  # partly refunded: yes
    assert _fulfilment(part).status == "done"
    part.refresh_from_db()
    assert part.status == "partially_refunded"  # its refund is what it still says


def test_a_completed_order_is_refunded_like_a_paid_one_on_request_and_by_its_store(shop):
    store, member = shop["store"], shop["member"]
    order = online_order(store=store, member=member, pickup_code="DONE0001")
    pickup_complete(store=store, pickup_code="DONE0001", actor="pos:S003")
    owner = StaffFactory(store=store, role=Staff.Role.OWNER).user

    asked = refund_request_create(order=order, amount=Decimal("10.00"), reason="damaged")
    refund_request_approve(request_id=asked.pk, actor=owner)
    asked = refund_request_refund(request_id=asked.pk)

    order.refresh_from_db()
    assert (asked.status, asked.refund.amount) == ("refunded", Decimal("10.00"))
    assert (order.status, order.refunded_amount) == ("partially_refunded", Decimal("10.00"))
    order_refund(order=order, refund_id="rest", amount=order.paid_amount - Decimal("10.00"))
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == ("refunded", order.paid_amount)


def test_the_migration_completes_the_paid_orders_already_handed_over_and_no_other(shop):
    store, member = shop["store"], shop["member"]
    handed = online_order(store=store, member=member, pickup_code="OLD00001")
    pickup_complete(store=store, pickup_code="OLD00001", actor="pos:S003")
    Order.objects.filter(pk=handed.pk).update(status="paid")  # as it was before completing
    waiting = online_order(store=store, member=member)
    part = online_order(store=store, member=member, pickup_code="OLD00002")
    order_refund(order=part, refund_id="r1", amount=Decimal("1.00"))
    pickup_complete(store=store, pickup_code="OLD00002", actor="pos:S003")
    migration = importlib.import_module("apps.orders.migrations.0017_completed_orders")

    migration.complete(django_apps, None)

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {
        handed.pk: "completed",
        waiting.pk: "paid",
        part.pk: "partially_refunded",
    }
    migration.uncomplete(django_apps, None)
    assert Order.objects.get(pk=handed.pk).status == "paid"


@pytest.mark.django_db(transaction=True)
def test_two_tills_completing_one_pickup_at_once_hand_it_over_once():
    store = StoreFactory(code="S003")
    stocked("TEE", stores=[store])
    online_order(store=store, member=MemberFactory(), pickup_code="PK777777")

    def complete():
        try:
            return pickup_complete(store=store, pickup_code="PK777777", actor="pos:S003").pk
        except PickupAlreadyUsed as refused:
            return refused.code

    results = run_together(complete, 2)

    assert sorted(results, key=str).count("already_used") == 1
    assert _stock(store) == (8, 0)
    assert Fulfilment.objects.get().status == "done"
    assert AuditEntry.objects.filter(action="fulfilment.pickup").count() == 1


def test_a_store_ships_its_parcels_once_and_may_correct_the_waybill(shop):
    owner = UserFactory()
    order = online_order(
        store=shop["other"], member=shop["member"], kind="delivery", ship_from=shop["store"]
    )

    delivery_ship(
        order_id=order.pk, ship_from=shop["store"], carrier="顺丰", tracking_no="SF1", actor=owner
    )

    fulfilment = _fulfilment(order)
    assert (fulfilment.status, fulfilment.carrier, fulfilment.tracking_no) == (
        "shipped",
        "顺丰",
        "SF1",
    )
    assert fulfilment.shipped_at is not None and fulfilment.done_at is None
    assert fulfilment.done_by == owner
    assert _stock(shop["store"]) == (8, 0)
    assert _stock(shop["other"]) == (10, 0)

    delivery_ship(  # the same form again: nothing changes
        order_id=order.pk, ship_from=shop["store"], carrier="顺丰", tracking_no="SF1", actor=owner
    )
    delivery_ship(
        order_id=order.pk, ship_from=shop["store"], carrier="顺丰", tracking_no="SF2", actor=owner
    )

    assert _fulfilment(order).tracking_no == "SF2"
    assert _fulfilment(order).shipped_at == fulfilment.shipped_at
    assert _stock(shop["store"]) == (8, 0)
    corrected = AuditEntry.objects.get(action="fulfilment.waybill")
    assert (corrected.before, corrected.after) == (
        {"carrier": "顺丰", "tracking_no": "SF1"},
        {"carrier": "顺丰", "tracking_no": "SF2"},
    )
    assert AuditEntry.objects.filter(action="fulfilment.ship").count() == 1


def test_only_the_place_a_parcel_ships_from_ships_it(shop):
    from_hq = online_order(store=shop["store"], member=shop["member"], kind="delivery")
    pickup = online_order(store=shop["store"], member=shop["member"])
    unpaid = online_order(store=shop["store"], member=shop["member"], kind="delivery", paid=False)

    for order, place in ((from_hq, shop["store"]), (pickup, shop["store"]), (pickup, None)):
        with pytest.raises(FulfilmentNotFound), transaction.atomic():
            delivery_ship(
                order_id=order.pk, ship_from=place, carrier="EMS", tracking_no="1", actor=None
            )
    with pytest.raises(OrderNotPaidYet), transaction.atomic():
        delivery_ship(
            order_id=unpaid.pk, ship_from=None, carrier="EMS", tracking_no="1", actor=None
        )
    assert not Fulfilment.objects.filter(status="shipped").exists()

    delivery_ship(order_id=from_hq.pk, ship_from=None, carrier="EMS", tracking_no="E1", actor=None)
    assert _stock(None) == (8, 2)  # the unpaid parcel's 2 still held
    delivery_receive(order=from_hq)
    with pytest.raises(NothingToShip), transaction.atomic():
        delivery_ship(
            order_id=from_hq.pk, ship_from=None, carrier="EMS", tracking_no="E9", actor=None
        )
    assert _fulfilment(from_hq).tracking_no == "E1"


def test_a_member_receives_a_shipped_parcel_once(shop):
    order = online_order(store=shop["store"], member=shop["member"], kind="delivery")

    with pytest.raises(NotShipped), transaction.atomic():
        delivery_receive(order=order)
    assert _fulfilment(order).status == "to_hand_over"

    delivery_ship(order_id=order.pk, ship_from=None, carrier="EMS", tracking_no="E1", actor=None)
    order.refresh_from_db()
    assert order.status == "paid"  # on its way: not completed yet
    delivery_receive(order=order)

    assert _fulfilment(order).status == "done" and _fulfilment(order).done_at is not None
    order.refresh_from_db()
    assert order.status == "completed"
    with pytest.raises(NotShipped), transaction.atomic():
        delivery_receive(order=order)


def _shipped(shop, days_ago: int, n: int = 1) -> list[int]:
    ids = []
    for _n in range(n):
        order = online_order(
            store=shop["store"], member=shop["member"], kind="delivery", items=[("TEE", 1)]
        )
        delivery_ship(order_id=order.pk, ship_from=None, carrier="EMS", tracking_no="E", actor=None)
        Fulfilment.objects.filter(pk=order.pk).update(
            shipped_at=timezone.now() - timedelta(days=days_ago)
        )
        ids.append(order.pk)
    return ids


def test_parcels_shipped_receive_days_ago_are_received_in_one_update_per_batch(
    shop, settings, django_assert_num_queries
):
    settings.ORDER_RECEIVE_DAYS = 7
    due, recent = _shipped(shop, 8, n=5), _shipped(shop, 6)
    not_shipped = online_order(store=shop["store"], member=shop["member"], kind="delivery")
    now = timezone.now()

    # batches of 2, 2 and 1, each: its ids, its orders, its fulfilments, in a savepoint
    with django_assert_num_queries(3 * (3 + 2)):
        assert deliveries_receive_due(now=now, batch=2) == 5

    assert set(Fulfilment.objects.filter(status="done").values_list("pk", flat=True)) == set(due)
    assert set(Order.objects.filter(status="completed").values_list("pk", flat=True)) == set(due)
    assert Order.objects.get(pk=recent[0]).status == "paid"
    assert set(Fulfilment.objects.filter(status="done").values_list("done_at", flat=True)) == {now}
    assert Fulfilment.objects.get(pk=recent[0]).status == "shipped"
    assert _fulfilment(not_shipped).status == "to_hand_over"
    assert deliveries_receive_due(now=now + timedelta(hours=1), batch=2) == 0
    assert set(Fulfilment.objects.filter(status="done").values_list("done_at", flat=True)) == {now}


def test_the_receive_job_rerun_after_a_crash_does_nothing_twice(shop, settings):
    settings.ORDER_RECEIVE_DAYS = 7
    due = _shipped(shop, 8, n=3)
    first = timezone.now()
    real_update = QuerySet.update
    calls = []

    def crash_on_second_batch(queryset, **changes):
        calls.append(changes)
        if len(calls) == 4:  # the second batch's fulfilments, after its orders
            raise ConnectionError("worker lost")
        return real_update(queryset, **changes)

    with (
        mock.patch.object(QuerySet, "update", crash_on_second_batch),
        pytest.raises(ConnectionError),
    ):
        deliveries_receive_due(now=first, batch=2)
    received_first = set(Fulfilment.objects.filter(status="done").values_list("pk", flat=True))
    assert len(received_first) == 2

    assert deliveries_receive_due(now=first + timedelta(minutes=5), batch=2) == 1

    done = dict(Fulfilment.objects.filter(pk__in=due).values_list("pk", "done_at"))
    assert {done[pk] for pk in received_first} == {first}
    assert set(done) == set(due) and first + timedelta(minutes=5) in done.values()
    assert set(Order.objects.filter(pk__in=due).values_list("status", flat=True)) == {"completed"}


def test_beat_runs_the_receive_job_every_hour(shop, settings):
    settings.ORDER_RECEIVE_DAYS = 7
    (due,) = _shipped(shop, 8)
    schedule = PeriodicTask.objects.get(task="apps.orders.tasks.deliveries_receive_task")

    deliveries_receive_task()

    assert (schedule.crontab.minute, schedule.crontab.hour) == ("20", "*")
    assert Fulfilment.objects.get(pk=due).status == "done"
