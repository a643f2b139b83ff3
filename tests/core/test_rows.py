"""Hand-written single-row statements (apps.core.rows) write what the ORM would have."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import Event, IdempotencyKey
from apps.core.rows import row_insert, row_update, text_replace
from apps.orders.models import Order
from apps.tiers.models import GrowthEntry, MemberTier, Tier
from tests.core.test_bulk import changes_once
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def fields_of(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_an_inserted_row_reads_back_as_the_object_it_came_from():
    order = Order(
        order_no="S9-1",
        channel="pos",
        store=StoreFactory(),
        member=MemberFactory(),
        external_id="E1",
        subtotal=Decimal("100.10"),
        payable=Decimal("90.10"),
        coupon_discount=Decimal("10.00"),
        quote={"applied": [{"type": "coupon", "amount": "10.00"}]},
        created_at=timezone.now(),
    )

    with CaptureQueriesContext(connection) as captured:
        assert row_insert(order) is True

    assert len(captured) == 1 and order.pk and not order._state.adding
    assert fields_of(Order.objects.get(pk=order.pk)) == fields_of(order)


def test_an_update_saves_only_the_fields_named():
    record = IdempotencyKey.objects.create(scope="store:1", key="k", fingerprint="first")
    record.response_status, record.response_body = 201, '{"order_no": "S1"}'
    record.fingerprint = "changed here, not saved"

    with CaptureQueriesContext(connection) as captured:
        row_update(record, "response_status", "response_body")

    stored = IdempotencyKey.objects.get()
    assert len(captured) == 1
    assert (stored.response_status, stored.response_body, stored.fingerprint) == (
        201,
        '{"order_no": "S1"}',
        "first",
    )


def test_a_row_given_its_key_goes_in_with_it():
    tier = Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    member = MemberFactory()

    assert row_insert(MemberTier(member=member, tier=tier)) is True

    assert MemberTier.objects.get().pk == member.pk


def test_a_taken_row_is_left_alone_and_the_transaction_carries_on():
    IdempotencyKey.objects.create(scope="store:1", key="k", fingerprint="first")

    taken = IdempotencyKey(scope="store:1", key="k", fingerprint="second")
    assert row_insert(taken, unless_taken=True) is False
    assert taken.pk is None

    # no savepoint was needed: the test's transaction still works
    assert list(IdempotencyKey.objects.values_list("fingerprint", flat=True)) == ["first"]
    assert row_insert(IdempotencyKey(scope="store:2", key="k", fingerprint="x"), unless_taken=True)


def test_a_row_goes_in_only_when_the_provided_update_changes_a_row():
    event = Event.objects.create(name="gate", next_attempt_at=timezone.now())
    first = IdempotencyKey(scope="member:1", key="k1", fingerprint="f")
    second = IdempotencyKey(scope="member:1", key="k2", fingerprint="f")

    with CaptureQueriesContext(connection) as captured:
        assert row_insert(first, provided=changes_once(event)) is True
    assert row_insert(second, provided=changes_once(event)) is False

    assert len(captured) == 1
    assert first.pk == IdempotencyKey.objects.get(key="k1").pk and second.pk is None
    assert not IdempotencyKey.objects.filter(key="k2").exists()
    event.refresh_from_db()
    assert event.attempts == 1


def test_a_provided_update_cannot_go_with_leaving_taken_rows_alone():
    event = Event.objects.create(name="gate", next_attempt_at=timezone.now())

    with pytest.raises(ValueError):
        row_insert(
            IdempotencyKey(scope="member:1", key="k", fingerprint="f"),
            provided=changes_once(event),
            unless_taken=True,
        )

    event.refresh_from_db()
    assert event.attempts == 0


def test_text_is_replaced_only_in_the_rows_named():
    member = MemberFactory()
    for key in ("order:1:growth", "order:2:growth"):
        GrowthEntry.objects.create(
            member=member,
            kind="order",
            amount=5,
            key=key,
            cause_kind="admin",
            description="订单 ~ab",
        )

    text_replace(
        GrowthEntry,
        fields=("description",),
        key="key",
        keys=["order:1:growth"],
        old="~ab",
        new="S1-0001",
    )

    assert dict(GrowthEntry.objects.values_list("key", "description")) == {
        "order:1:growth": "订单 S1-0001",
        "order:2:growth": "订单 ~ab",
    }
