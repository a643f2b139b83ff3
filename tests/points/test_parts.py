"""Issuance and pending kept in parts (Account.PARTS): a member's own earns and redemptions
use their part, the jobs part 0, so sales to different members do not queue on one row;
every part still holds exactly its entries, and each part of pending its pending lots."""

import contextlib
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.points import services
from apps.points.earning import points_award_event
from apps.points.handlers import credit_imported_points
from apps.points.locks import accounts_lock_by_id
from apps.points.models import Account, EarningRule, Entry, Lot
from apps.points.services import (
    balances_move,
    member_account,
    points_earn,
    points_earn_together,
    points_mature_due,
    points_merge_members,
    points_redeem,
    points_reverse,
    system_account,
)
from apps.points.verification import ledger_problems
from tests.conftest import in_thread, run_together
from tests.members.factories import MemberFactory

PENDING, ISSUANCE = Account.Kind.PENDING, Account.Kind.ISSUANCE


def earn(member, amount=100, *, pending=True, key=None, part=None):
    return points_earn(
        member=member,
        amount=amount,
        cause_kind="admin",
        key=key or f"earn:{member.pk}:{amount}:{pending}",
        description="t",
        pending=pending,
        part=part,
    )


def members_of_parts(same: bool):
    """Two members whose sales use the same part, or two different parts."""
    first = MemberFactory()
    while True:
        second = MemberFactory()
        if (Account.part_of(first.pk) == Account.part_of(second.pk)) is same:
            return first, second


@pytest.mark.django_db
def test_a_members_earns_and_redemptions_use_their_part_and_a_jobs_grant_part_0():
    member = MemberFactory()
    part = Account.part_of(member.pk)

    pending = earn(member)
    available = earn(member, 300, pending=False)
    spent = points_redeem(member=member, amount=50, cause_kind="admin", key="r", description="t")
    granted = points_earn_together(
        member_ids=[member.pk],
        amount=10,
        cause_kind="campaign",
        cause_id=1,
        keys=["g"],
        description="t",
        now=timezone.now(),
    )[member.pk]

    assert 1 <= part < Account.PARTS
    assert (pending.from_account.kind, pending.from_account.part) == (ISSUANCE, part)
    assert (pending.to_account.kind, pending.to_account.part) == (PENDING, part)
    assert (available.from_account.kind, available.from_account.part) == (ISSUANCE, part)
    assert (spent.to_account.kind, spent.to_account.part) == (ISSUANCE, part)
    assert Entry.objects.get(pk=granted).from_account == system_account(ISSUANCE)
    assert system_account(ISSUANCE).part == 0
    assert Account.objects.filter(kind__in=Account.SHARED).count() == 2 * Account.PARTS
    assert ledger_problems() == {}


@pytest.mark.django_db
def test_a_system_account_is_locked_before_a_members_even_with_a_higher_id():
    member = MemberFactory()
    account = member_account(member)
    Account.objects.filter(kind=PENDING, part=3).delete()  # no entries yet: made again below
    part = system_account(PENDING, 3)
    assert part.pk > account.pk

    with transaction.atomic():
        locked = accounts_lock_by_id(account, part)

    assert list(locked) == [part.pk, account.pk]


@pytest.mark.django_db
def test_a_reversed_pending_earn_goes_back_out_of_and_into_its_own_parts():
    member = MemberFactory()
    earned = earn(member)

    back, short = points_reverse(entry=earned, cause_kind="admin", key="back", description="t")

    assert short == 0
    assert (back.from_account, back.to_account) == (earned.to_account, earned.from_account)
    assert earned.to_account.part == Account.part_of(member.pk)
    assert ledger_problems() == {}


@pytest.mark.django_db
def test_settling_after_a_merge_pays_each_lot_out_of_the_part_it_was_earned_into():
    survivor, merged = members_of_parts(same=False)
    earn(survivor, 100)
    earn(merged, 40)
    points_merge_members(survivor=survivor, merged=merged)
    assert set(Lot.objects.values_list("member_id", flat=True)) == {survivor.pk}

    assert points_mature_due(now=timezone.now() + timedelta(days=365)) == 2

    settled = Entry.objects.filter(kind=Entry.Kind.SETTLE)
    assert sorted((e.from_account.part, e.amount) for e in settled) == sorted(
        [(Account.part_of(survivor.pk), 100), (Account.part_of(merged.pk), 40)]
    )
    assert {e.member_id for e in settled} == {survivor.pk}
    assert len({e.cause_id for e in settled}) == 2  # one batch a part: one entry a member each
    assert member_account(survivor).balance == 140
    assert set(Account.objects.filter(kind=PENDING).values_list("balance", flat=True)) == {0}
    assert ledger_problems() == {}


@pytest.mark.django_db
def test_verify_ledger_finds_a_part_of_pending_holding_another_parts_points():
    first, second = members_of_parts(same=False)
    earned = earn(first)
    other = system_account(PENDING, Account.part_of(second.pk))
    # balanced entries, and pending as a whole still holds all pending lots
    moved = Entry(
        kind=Entry.Kind.ADJUST,
        from_account=earned.to_account,
        to_account=other,
        amount=30,
        member=first,
        cause_kind="admin",
        idempotency_key="moved",
        description="t",
        created_at=timezone.now(),
    )
    assert balances_move(moved)

    problems = ledger_problems()

    assert set(problems) == {"each part of pending holds exactly the pending lots earned into it"}
    assert sorted(row[1:] for row in problems.popitem()[1]) == sorted(
        [(earned.to_account_id, -30), (other.pk, 30)]
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_part", [False, True])
def test_a_sale_holding_its_part_holds_up_another_only_in_the_same_part(same_part):
    holding, other = members_of_parts(same=same_part)

    finished = finishes_while_held_open(
        lambda: earn(holding, key="slow"), lambda: earn(other, key="quick")
    )

    assert finished is not same_part
    assert Entry.objects.filter(idempotency_key__in=["slow", "quick"]).count() == 2
    assert ledger_problems() == {}


def finishes_while_held_open(hold, write) -> bool:
    """Whether `write` finishes within 3 s, in a thread, while another thread's transaction
    has done `hold` and stays open."""
    held, release = threading.Event(), threading.Event()

    def holding():
        with transaction.atomic():
            hold()
            held.set()
            release.wait(timeout=30)

    return finishes_meanwhile(in_thread(holding), held, release, write)


def finishes_meanwhile(holder, held, release, write) -> bool:
    """Whether `write` finishes within 3 s, in a thread, once the `holder` thread says it is
    `held`, until it is told to `release`."""
    assert held.wait(timeout=30)
    other = in_thread(write)
    other.join(timeout=3)
    finished = not other.is_alive()
    release.set()
    holder.join(timeout=30)
    other.join(timeout=30)
    return finished


def join_bonus(points=100):
    return EarningRule.objects.create(
        name="入会礼", kind=EarningRule.Kind.BONUS, event=EarningRule.Event.JOIN, points=points
    )


@pytest.mark.django_db
def test_an_events_bonus_comes_from_part_0():
    join_bonus()
    member = MemberFactory()

    [bonus] = points_award_event(member=member, event=EarningRule.Event.JOIN, cause_id=member.pk)

    assert (bonus.from_account.kind, bonus.from_account.part) == (ISSUANCE, 0)
    assert bonus.to_account == member_account(member) and ledger_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_a_sale_never_waits_on_the_worker_giving_a_bonus_to_a_member_of_its_part():
    """The worker runs at a low CPU priority and may wait for a core with its transaction
    open: a sale to a member of the same part goes on meanwhile."""
    join_bonus()
    welcomed, buyer = members_of_parts(same=True)

    finished_meanwhile = finishes_while_held_open(
        lambda: points_award_event(
            member=welcomed, event=EarningRule.Event.JOIN, cause_id=welcomed.pk
        ),
        lambda: earn(buyer, key="sale"),
    )

    assert finished_meanwhile
    assert Entry.objects.filter(idempotency_key="sale").count() == 1
    assert Entry.objects.filter(cause_kind=EarningRule.Event.JOIN).count() == 1
    assert ledger_problems() == {}


@pytest.fixture
def migrated_back():
    """The points app just before the parts; the latest again after."""
    executor = MigrationExecutor(connection)
    executor.migrate([("points", "0016_referral_cause")])
    yield executor.loader.project_state([("points", "0016_referral_cause")]).apps
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_the_parts_and_takes_them_away_while_unused(migrated_back):
    Old = migrated_back.get_model("points", "Account")
    for kind in Account.SHARED:  # as 0002 made them (a transaction test empties the tables)
        Old.objects.get_or_create(kind=kind)
    executor = MigrationExecutor(connection)
    executor.migrate([("points", "0017_system_account_parts")])

    parts = Account.objects.filter(kind__in=Account.SHARED)
    assert sorted(parts.values_list("kind", "part")) == sorted(
        (kind, part) for kind in Account.SHARED for part in range(Account.PARTS)
    )

    executor = MigrationExecutor(connection)
    executor.migrate([("points", "0016_referral_cause")])
    assert Old.objects.filter(kind__in=Account.SHARED).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_back_refuses_once_a_part_has_entries():
    earn(MemberFactory())  # a member's part, never 0

    executor = MigrationExecutor(connection)
    with pytest.raises(RuntimeError, match="entries in the parts"):
        executor.migrate([("points", "0016_referral_cause")])

    assert Entry.objects.count() == 1


@pytest.mark.django_db
def test_an_imports_credits_all_come_from_part_0():
    members = [MemberFactory() for _ in range(4)]
    event = SimpleNamespace(
        payload={"import": 7, "platform": "有赞", "points": [[m.pk, 100] for m in members]}
    )

    credit_imported_points(event)

    credits = Entry.objects.filter(cause_kind=Entry.CauseKind.IMPORT, cause_id=7)
    assert {(e.from_account.kind, e.from_account.part) for e in credits} == {(ISSUANCE, 0)}
    assert credits.count() == 4 and ledger_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_two_transactions_each_giving_two_members_points_in_part_0_never_deadlock():
    (a, b), (c, d) = members_of_parts(same=False), members_of_parts(same=False)
    halfway = threading.Barrier(2, timeout=8)

    def give(first, second):
        with transaction.atomic():
            earn(first, key=f"1:{first.pk}", part=0)
            with contextlib.suppress(threading.BrokenBarrierError):
                halfway.wait()  # the other one waits on part 0: it never gets here
            earn(second, key=f"2:{second.pk}", part=0)

    run_together(give, 1, a, b)  # warm: the accounts exist
    threads = [in_thread(lambda: give(c, d)), in_thread(lambda: give(d, c))]
    for thread in threads:
        thread.join(timeout=30)

    assert Entry.objects.count() == 6
    assert ledger_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_a_pending_earn_settled_while_its_reversal_waits_comes_back_out_of_the_members_account(
    monkeypatch,
):
    member = MemberFactory()
    member_account(member)  # as a member who has spent or been given points has one
    earned = earn(member)
    locks = services.accounts_lock_by_id

    def settled_meanwhile(*accounts):
        # the nightly job commits between the reversal's read of the lot and its locks
        settling = in_thread(lambda: points_mature_due(now=timezone.now() + timedelta(days=365)))
        settling.join(timeout=30)
        return locks(*accounts)

    monkeypatch.setattr(services, "accounts_lock_by_id", settled_meanwhile)
    back, short = points_reverse(entry=earned, cause_kind="admin", key="back", description="t")

    assert short == 0
    assert back.from_account == member_account(member)
    assert system_account(PENDING, Account.part_of(member.pk)).balance == 0
    assert ledger_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_settling_holds_one_part_of_pending_at_a_time(monkeypatch):
    """Settling runs every ten minutes through the day: while it settles one part, a sale to
    a member of another part goes on."""
    first, other = members_of_parts(same=False)
    earn(first, key="first")
    earn(other, key="other")
    inside, release = threading.Event(), threading.Event()
    transfers = services._job_transfers

    def held_open(*args, **kwargs):
        made = transfers(*args, **kwargs)
        if not inside.is_set():  # the first part's transaction, its part locked
            inside.set()
            release.wait(timeout=30)
        return made

    monkeypatch.setattr(services, "_job_transfers", held_open)
    settling = in_thread(lambda: points_mature_due(now=timezone.now() + timedelta(days=365)))
    finished_meanwhile = finishes_meanwhile(
        settling, inside, release, lambda: earn(other, 50, key="sale")
    )

    assert finished_meanwhile
    assert not Lot.objects.filter(status=Lot.Status.PENDING).exists()  # the sale's next round
    assert ledger_problems() == {}


@pytest.mark.django_db
def test_settling_takes_at_most_its_hold_of_lots_a_transaction(monkeypatch):
    monkeypatch.setattr(services, "SETTLE_HOLD", 2)
    member = MemberFactory()
    for n in range(5):
        earn(member, 10 + n, key=f"lot{n}")

    assert points_mature_due(now=timezone.now() + timedelta(days=365)) == 5

    settled = Entry.objects.filter(kind=Entry.Kind.SETTLE, member=member)
    assert sorted(settled.values_list("amount", flat=True)) == [14, 21, 25]  # 10+11, 12+13, 14
    assert settled.values("cause_id").distinct().count() == 3
    assert member_account(member).balance == 60 and ledger_problems() == {}
