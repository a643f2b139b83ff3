"""Lots are drawn down in one place (apps.points.lots.lots_draw_down): whatever takes points
from them — a redemption, expiry, a reversal — records it as uses that agree with the
ledger (verify_ledger's invariants), and merging members carries lots and balance together."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.points.locks import accounts_lock, accounts_lock_for_job
from apps.points.models import Account, Entry, Lot, LotUse
from apps.points.selectors import points_available
from apps.points.services import (
    member_account,
    points_expire_due,
    points_merge_members,
    points_redeem,
    points_reverse,
    system_account,
)
from apps.points.verification import ledger_problems
from tests.members.factories import MemberFactory
from tests.points.test_ledger import earn

pytestmark = pytest.mark.django_db


def redeem(member, amount, key):
    return points_redeem(
        member=member, amount=amount, key=key, cause_kind="admin", description="抵现"
    )


def uses_of(entry) -> dict[int, int]:
    return dict(LotUse.objects.filter(entry=entry).values_list("lot_id", "amount"))


def test_a_redemption_across_lots_records_each_lots_share_and_the_ledger_agrees(settings):
    settings.POINTS_EXPIRY = "months:12"
    member = MemberFactory()
    lots = [
        earn(member, 40, f"e{days}", now=timezone.now() - timedelta(days=days)).lot
        for days in (300, 200, 100)
    ]

    spent = redeem(member, 90, "r")

    assert uses_of(spent) == {lots[0].pk: 40, lots[1].pk: 40, lots[2].pk: 10}
    assert [lot.remaining for lot in Lot.objects.order_by("pk")] == [0, 0, 30]
    assert points_available(member) == 30
    assert ledger_problems() == {}


def test_expiry_draws_down_what_is_left_and_closes_spent_lots_without_a_use(settings):
    settings.POINTS_EXPIRY = "year_end_next"
    member, other = MemberFactory(), MemberFactory()
    old_year = timezone.now().replace(year=2024)
    spent_lot = earn(member, 30, "a", now=old_year).lot
    part_lot = earn(member, 50, "b", now=old_year).lot
    earn(member, 20, "c")  # not due
    other_lot = earn(other, 70, "d", now=old_year).lot
    redeem(member, 40, "r")  # all of the first lot, 10 of the second

    assert points_expire_due(today=date(2026, 1, 1)) == 40 + 70

    expired = {e.member_id: e for e in Entry.objects.filter(kind=Entry.Kind.EXPIRE)}
    assert uses_of(expired[member.pk]) == {part_lot.pk: 40}
    assert uses_of(expired[other.pk]) == {other_lot.pk: 70}
    statuses = dict(Lot.objects.values_list("pk", "status"))
    assert statuses[spent_lot.pk] == statuses[part_lot.pk] == Lot.Status.EXPIRED
    assert LotUse.objects.filter(lot=spent_lot).count() == 1  # only the redemption's
    assert points_available(member) == 20 and points_available(other) == 0
    assert ledger_problems() == {}


def test_a_reversed_redemption_gives_back_to_an_expired_lot_and_the_next_run_takes_it(settings):
    settings.POINTS_EXPIRY = "year_end_next"
    member = MemberFactory()
    lot = earn(member, 100, "a", now=timezone.now().replace(year=2024)).lot
    spent = redeem(member, 60, "r")
    points_expire_due(today=date(2026, 1, 1))

    back, _shortfall = points_reverse(
        entry=spent, cause_kind="refund", cause_id=1, description="退回"
    )

    assert uses_of(back) == {lot.pk: -60}
    lot.refresh_from_db()
    assert (lot.status, lot.remaining) == (Lot.Status.AVAILABLE, 60)
    assert ledger_problems() == {}
    assert points_expire_due(today=date(2026, 1, 1)) == 60
    assert ledger_problems() == {}


def test_merged_members_lots_and_balance_move_together_and_are_spent_as_one(settings):
    settings.POINTS_EXPIRY = "months:12"
    survivor, merged = MemberFactory(), MemberFactory()
    older = earn(merged, 70, "m", now=timezone.now() - timedelta(days=100)).lot
    newer = earn(survivor, 50, "s").lot
    redeem(merged, 20, "r0")

    points_merge_members(survivor=survivor, merged=merged)

    assert ledger_problems() == {}
    assert (points_available(survivor), points_available(merged)) == (100, 0)
    spent = redeem(survivor, 80, "r1")
    assert uses_of(spent) == {older.pk: 50, newer.pk: 30}
    assert points_available(survivor) == 20
    assert ledger_problems() == {}


def test_a_draw_down_is_one_statement_whose_text_is_the_same_for_any_number_of_lots():
    member = MemberFactory()
    for n in range(4):
        earn(member, 10, f"e{n}")

    with CaptureQueriesContext(connection) as one_lot:
        redeem(member, 5, "r1")
    with CaptureQueriesContext(connection) as three_lots:
        redeem(member, 25, "r3")

    def draw_downs(captured):
        return [query["sql"] for query in captured if "unnest" in query["sql"]]

    assert len(draw_downs(one_lot)) == len(draw_downs(three_lots)) == 1
    assert len(LotUse.objects.filter(entry__idempotency_key="r3")) == 3
    assert draw_downs(one_lot)[0].split("'{")[0] == draw_downs(three_lots)[0].split("'{")[0]
    assert ledger_problems() == {}


def test_accounts_are_locked_in_one_statement_and_missing_ones_are_made():
    member = MemberFactory()

    with CaptureQueriesContext(connection) as captured:
        locked = accounts_lock(member, kinds=(Account.Kind.ISSUANCE,))

    assert locked["member"] == Account.objects.get(member=member)
    assert locked[Account.Kind.ISSUANCE] == system_account(Account.Kind.ISSUANCE)
    locks = [q["sql"] for q in captured if "FOR UPDATE" in q["sql"]]
    assert len(locks) == 2 and all("ORDER BY" in sql for sql in locks)  # before and after


def test_a_jobs_batch_locks_its_system_account_and_the_members_accounts():
    members = [MemberFactory() for _ in range(3)]
    accounts = [member_account(member) for member in members]
    breakage = system_account(Account.Kind.BREAKAGE)

    locked = accounts_lock_for_job([breakage], [m.pk for m in members])

    assert locked == {m.pk: a.pk for m, a in zip(members, accounts, strict=True)}


def test_points_spent_before_a_merge_come_back_to_the_member_who_holds_their_lots_now():
    """An order paid with points before its member was merged, refunded after: the points go
    back to the survivor, who holds the lots they came from, not to the merged member."""
    survivor, merged = MemberFactory(), MemberFactory()
    earn(merged, 70, "m")
    spent = redeem(merged, 30, "r")
    points_merge_members(survivor=survivor, merged=merged)

    back, shortfall = points_reverse(
        entry=spent, cause_kind="admin", cause_id=1, description="退款退回积分"
    )

    assert (back.member_id, back.to_account.member_id, shortfall) == (survivor.pk, survivor.pk, 0)
    assert (points_available(survivor), points_available(merged)) == (70, 0)
    assert ledger_problems() == {}
