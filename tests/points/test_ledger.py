"""The points ledger's use cases, each checked against verify_ledger's invariants."""

from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from apps.core.errors import DomainError
from apps.points.errors import InsufficientPoints
from apps.points.models import Account, Entry, Lot
from apps.points.selectors import points_available, points_totals
from apps.points.services import (
    member_account,
    points_adjust,
    points_earn,
    points_expire_due,
    points_mature_due,
    points_redeem,
    points_reverse,
)
from apps.points.verification import ledger_problems
from tests.core.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory()


def earn(member, amount, key, pending=False, now=None):
    return points_earn(
        member=member,
        amount=amount,
        key=key,
        cause_kind="admin",
        description="测试得积分",
        pending=pending,
        now=now,
    )


@pytest.fixture(autouse=True)
def ledger_stays_whole():
    yield
    assert ledger_problems() == {}


def test_earning_pending_points_then_they_mature(member):
    now = timezone.now()
    earn(member, 300, "order:1", pending=True, now=now)

    assert points_totals(member)["pending"] == 300 and points_available(member) == 0
    assert points_mature_due(now=now + timedelta(days=6)) == 0
    assert points_mature_due(now=now + timedelta(days=8)) == 1
    assert points_mature_due(now=now + timedelta(days=8)) == 0  # a rerun does nothing
    assert points_totals(member) == {"available": 300, "pending": 0, "expiring": []}


def test_replaying_a_key_returns_the_first_entry_and_moves_nothing(member):
    first = earn(member, 100, "order:1")
    again = earn(member, 100, "order:1")

    assert again.pk == first.pk
    assert points_available(member) == 100
    with pytest.raises(DomainError) as error:
        earn(member, 999, "order:1")  # the same key for another transfer
    assert error.value.code == "idempotency_conflict"


def test_redeeming_takes_the_soonest_expiring_points_first(member, settings):
    settings.POINTS_EXPIRY = "months:12"
    earn(member, 100, "a", now=timezone.now() - timedelta(days=200))
    earn(member, 100, "b", now=timezone.now() - timedelta(days=100))
    earn(member, 100, "c")

    points_redeem(member=member, amount=150, key="r1", cause_kind="admin", description="积分抵现")

    remaining = list(Lot.objects.order_by("expires_on").values_list("remaining", flat=True))
    assert remaining == [0, 50, 100]
    assert points_available(member) == 150


def test_redeeming_more_than_available_is_refused_and_changes_nothing(member):
    earn(member, 100, "a")
    earn(member, 500, "pending", pending=True)

    with pytest.raises(InsufficientPoints) as error:
        points_redeem(
            member=member, amount=101, key="r", cause_kind="admin", description="积分抵现"
        )

    assert error.value.code == "insufficient_points"
    assert points_available(member) == 100
    assert not Entry.objects.filter(idempotency_key="r").exists()


def test_points_spent_at_a_store_go_to_the_stores_account(member):
    store = StoreFactory()
    earn(member, 100, "a")
    store_account = Account.objects.create(kind=Account.Kind.STORE, store=store)

    points_redeem(
        member=member,
        amount=60,
        key="r",
        cause_kind="admin",
        description="积分抵现",
        store=store,
    )

    store_account.refresh_from_db()
    assert store_account.balance == 60


def test_expiry_moves_what_is_left_to_breakage_once(member, settings):
    settings.POINTS_EXPIRY = "year_end_next"
    earn(member, 100, "old", now=timezone.now().replace(year=2024))
    earn(member, 50, "new")
    points_redeem(member=member, amount=30, key="r", cause_kind="admin", description="积分抵现")

    assert points_expire_due(today=date(2026, 1, 1)) == 70
    assert points_expire_due(today=date(2026, 1, 1)) == 0

    assert points_available(member) == 50
    assert Account.objects.get(kind="breakage").balance == 70
    expire = Entry.objects.get(kind=Entry.Kind.EXPIRE)
    assert (expire.amount, expire.description) == (70, "积分过期")


def test_reversing_a_pending_earn_voids_it(member):
    entry = earn(member, 200, "order:1", pending=True)

    back, shortfall = points_reverse(
        entry=entry, cause_kind="admin", key="refund:1", description="退货扣回积分"
    )

    assert (back.amount, shortfall) == (200, 0)
    assert points_totals(member)["pending"] == 0
    assert Lot.objects.get().status == Lot.Status.VOID


def test_reversing_an_earn_already_spent_reports_the_shortfall(member):
    entry = earn(member, 200, "order:1")
    points_redeem(member=member, amount=150, key="r", cause_kind="admin", description="积分抵现")

    back, shortfall = points_reverse(
        entry=entry, cause_kind="admin", key="refund:1", description="退货扣回积分"
    )

    assert (back.amount, shortfall) == (50, 150)
    assert points_available(member) == 0


def test_reversing_a_redemption_gives_the_points_back_to_their_lots(member):
    earn(member, 100, "a")
    spent = points_redeem(
        member=member, amount=80, key="r", cause_kind="admin", description="积分抵现"
    )

    points_reverse(entry=spent, cause_kind="admin", key="cancel:1", description="订单取消退回积分")

    assert points_available(member) == 100
    assert Lot.objects.get().remaining == 100
    with pytest.raises(DomainError):
        points_reverse(
            entry=spent, cause_kind="admin", key="cancel:2", description="again"
        )  # an entry is reversed once


def test_partial_reversals_take_back_a_share_each_and_never_more_than_the_entry(member):
    entry = earn(member, 100, "order:1", pending=True)

    first, short_first = points_reverse(
        entry=entry, cause_kind="admin", key="refund:1", description="部分退货扣回积分", amount=30
    )
    second, short_second = points_reverse(
        entry=entry, cause_kind="admin", key="refund:2", description="部分退货扣回积分", amount=70
    )

    assert (first.amount, short_first, second.amount, short_second) == (30, 0, 70, 0)
    assert Lot.objects.get().status == Lot.Status.VOID
    with pytest.raises(DomainError):
        points_reverse(
            entry=entry, cause_kind="admin", key="refund:3", description="again", amount=1
        )


def test_a_partly_returned_redemption_gives_back_to_the_latest_expiring_lot_first(member, settings):
    settings.POINTS_EXPIRY = "months:1"
    old = earn(member, 50, "old", now=timezone.now() - timedelta(days=20))
    new = earn(member, 50, "new")
    spent = points_redeem(member=member, amount=80, key="r", cause_kind="admin", description="抵现")

    points_reverse(
        entry=spent, cause_kind="admin", key="refund:1", description="退回部分积分", amount=40
    )
    assert Lot.objects.get(entry=new).remaining == 50  # 20 left + its 30 back
    assert Lot.objects.get(entry=old).remaining == 10
    points_reverse(
        entry=spent, cause_kind="admin", key="refund:2", description="退回其余积分", amount=40
    )

    assert Lot.objects.get(entry=new).remaining == 50
    assert Lot.objects.get(entry=old).remaining == 50
    assert points_available(member) == 100


def test_hq_adjusts_up_and_down_with_a_reason_audited(member):
    hq = UserFactory(is_staff=True)

    points_adjust(member=member, amount=500, reason="客诉补偿", actor=hq, key="adj:1")
    points_adjust(member=member, amount=-200, reason="误操作更正", actor=hq, key="adj:2")

    assert points_available(member) == 300
    assert list(Entry.objects.order_by("pk").values_list("kind", "description")) == [
        ("adjust", "积分调整：客诉补偿"),
        ("adjust", "积分调整：误操作更正"),
    ]


def test_the_database_forbids_a_negative_member_balance(member):
    from django.db import IntegrityError, transaction

    account = member_account(member)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=-1)


def test_verify_ledger_passes_and_catches_a_tampered_balance(member, capsys):
    earn(member, 100, "a")
    call_command("verify_ledger")
    assert "ok    all balances sum to zero" in capsys.readouterr().out

    Account.objects.filter(member=member).update(balance=99)
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    assert "FAIL  all balances sum to zero" in capsys.readouterr().out
    Account.objects.filter(member=member).update(balance=100)  # whole again for the fixture


def test_the_nightly_jobs_run_in_as_many_queries_for_60_members_as_for_20(settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.POINTS_EXPIRY = "year_end_next"
    long_ago = timezone.now().replace(year=2024)

    def queries(count):
        members = [MemberFactory() for _ in range(count)]
        for member in members:
            earn(member, 100, f"old:{member.pk}", now=long_ago)
            earn(member, 20, f"older:{member.pk}", now=long_ago - timedelta(days=1))
            earn(member, 40, f"pending:{member.pk}", pending=True, now=long_ago)
        with CaptureQueriesContext(connection) as matured:
            assert points_mature_due(now=timezone.now(), batch=100) == count
        with CaptureQueriesContext(connection) as expired:
            assert points_expire_due(today=date(2026, 1, 1), batch=100) == 160 * count
        assert {points_available(member) for member in members} == {0}
        return len(matured), len(expired)

    assert queries(20) == queries(60)


def test_expiry_in_small_batches_reaches_every_member_once(settings):
    settings.POINTS_EXPIRY = "year_end_next"
    long_ago = timezone.now().replace(year=2024)
    members = [MemberFactory() for _ in range(20)]
    for member in members:
        earn(member, 100, f"old:{member.pk}", now=long_ago)

    assert points_expire_due(today=date(2026, 1, 1), batch=7) == 100 * 20
    assert points_expire_due(today=date(2026, 1, 1), batch=7) == 0  # a rerun does nothing
    assert {points_available(member) for member in members} == {0}
    assert Entry.objects.filter(kind=Entry.Kind.EXPIRE).count() == 20


def test_an_order_earns_and_spends_once_a_second_entry_is_refused(member):
    earn(member, 500, "seed")
    first = points_earn(member=member, amount=100, cause_kind="order", cause_id=9, description="a")
    spent = points_redeem(member=member, amount=50, cause_kind="order", cause_id=9, description="b")

    with pytest.raises(IntegrityError):
        points_earn(member=member, amount=100, cause_kind="order", cause_id=9, description="again")
    with pytest.raises(IntegrityError):
        points_redeem(member=member, amount=50, cause_kind="order", cause_id=9, description="again")

    assert list(Entry.objects.filter(cause_kind="order", cause_id=9).order_by("pk")) == [
        first,
        spent,
    ]
    assert (first.idempotency_key, spent.idempotency_key) == (None, None)
    assert points_available(member) == 450


def test_a_refund_reverses_an_entry_once_again_it_returns_the_first(member):
    entry = earn(member, 200, "e")

    back, short = points_reverse(
        entry=entry, cause_kind="refund", cause_id=4, description="退货扣回积分", amount=80
    )
    again, short_again = points_reverse(
        entry=entry, cause_kind="refund", cause_id=4, description="退货扣回积分", amount=80
    )
    other, _short = points_reverse(
        entry=entry, cause_kind="refund", cause_id=5, description="再退货", amount=20
    )

    assert (again.pk, short, short_again) == (back.pk, 0, 0)
    assert other.pk != back.pk
    assert Entry.objects.filter(reverses=entry).count() == 2
    assert points_available(member) == 100
