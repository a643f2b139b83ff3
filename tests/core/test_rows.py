"""Hand-written single-row statements (apps.core.rows) write what the ORM would have, to the
database the router picks, and let pass only the unique violation they name."""

from decimal import Decimal

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import IdempotencyKey
from apps.core.rows import (
    columns,
    database_for_read,
    database_for_write,
    instance,
    row_insert,
    row_update,
)
from apps.mall.models import Sku
from apps.mall.selectors import products_by_sku
from apps.members.models import Member
from apps.members.selectors import member_active
from apps.orders.models import Order
from apps.tiers.models import MemberTier, Tier
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
    assert row_insert(taken, unless_taken="idempotency_key_unique") is False
    assert taken.pk is None

    # no savepoint was needed: the test's transaction still works
    assert list(IdempotencyKey.objects.values_list("fingerprint", flat=True)) == ["first"]
    other = IdempotencyKey(scope="store:2", key="k", fingerprint="x")
    assert row_insert(other, unless_taken="idempotency_key_unique") is True


def an_order(store, **fields) -> Order:
    return Order(
        channel="pos",
        store=store,
        subtotal=Decimal("10.00"),
        payable=Decimal("10.00"),
        created_at=timezone.now(),
        **fields,
    )


def test_only_the_named_constraint_lets_a_taken_row_pass_another_unique_violation_raises():
    store = StoreFactory()
    assert row_insert(an_order(store, order_no="S1-1", external_id="E1"))

    # the store's external id is taken: left alone, as named
    again = an_order(store, order_no="S1-2", external_id="E1")
    assert row_insert(again, unless_taken="order_external_id_once_per_store") is False
    # the partial index leaves orders without an external id out: they never conflict
    for number in ("S1-3", "S1-4"):
        plain = an_order(store, order_no=number, external_id="")
        assert row_insert(plain, unless_taken="order_external_id_once_per_store") is True

    # the order number is another unique constraint: its violation is an error
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(
            an_order(store, order_no="S1-1", external_id="E2"),
            unless_taken="order_external_id_once_per_store",
        )
    assert sorted(Order.objects.values_list("order_no", flat=True)) == ["S1-1", "S1-3", "S1-4"]


def test_a_field_names_its_own_unique_index_and_what_is_not_unique_is_refused():
    tier = Tier.objects.create(code="normal", name="普通会员", rank=0, growth_threshold=0)
    member = MemberFactory()
    assert row_insert(MemberTier(member=member, tier=tier), unless_taken="member") is True
    assert row_insert(MemberTier(member=member, tier=tier), unless_taken="member") is False

    with pytest.raises(ValueError):
        row_insert(IdempotencyKey(scope="s", key="k", fingerprint="f"), unless_taken="scope")
    with pytest.raises(FieldDoesNotExist):
        row_insert(IdempotencyKey(scope="s", key="k", fingerprint="f"), unless_taken="no_such")
    assert not IdempotencyKey.objects.exists()


class ReplicaRouter:
    """Reads from a replica, writes to the primary; remembers what it was asked."""

    def __init__(self, reads_from="replica"):
        self.reads_from, self.asked = reads_from, []

    def db_for_read(self, model, **hints):
        self.asked.append(("read", model))
        return self.reads_from

    def db_for_write(self, model, **hints):
        self.asked.append(("write", model))
        return "default"


def test_reads_inside_a_transaction_go_to_the_database_it_writes_to():
    with override_settings(DATABASE_ROUTERS=[ReplicaRouter()]):
        assert database_for_write(Member) == "default"
        assert database_for_read(Member) == "default"  # the test's transaction is open


@pytest.mark.django_db(transaction=True)
def test_reads_outside_a_transaction_go_to_the_routers_read_database():
    with override_settings(DATABASE_ROUTERS=[ReplicaRouter()]):
        assert database_for_read(Member) == "replica"
        with transaction.atomic():
            assert database_for_read(Member) == "default"
        assert database_for_read(Member) == "replica"


@pytest.mark.django_db(transaction=True)
def test_hand_written_statements_ask_the_router_for_their_database():
    member = MemberFactory()
    router = ReplicaRouter(reads_from="default")

    with override_settings(DATABASE_ROUTERS=[router]):
        found = member_active(member.pk)
        products_by_sku(["SKU-1"])
        row_insert(IdempotencyKey(scope="s", key="k", fingerprint="f"))

    assert found == member and found._state.db == "default"
    assert ("read", Member) in router.asked and ("read", Sku) in router.asked
    assert ("write", IdempotencyKey) in router.asked


def test_an_instance_remembers_the_database_its_row_came_from():
    member = MemberFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(Member, 'm')} FROM members_member m WHERE m.id = %s", [member.pk]
        )
        row = cursor.fetchone()

    built = instance(Member, row, "default")

    assert built._state.db == "default" and not built._state.adding
    assert fields_of(built) == fields_of(member)
