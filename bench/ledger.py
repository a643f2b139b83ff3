# ruff: noqa: E501  (SQL reads better unbroken)
"""Points transfers per second through the ledger service, and the same writes in
hand-written SQL with psycopg, at the same concurrency on the same fresh PostgreSQL.

    python -m bench.ledger --seconds 10 --workers 4 --members 2000

Each operation is, at random, an earn (issuance → member, a new lot) or a redemption at a
store (member → store, lots spent soonest-expiring first). Prints both rates, the ratio,
and whether verify_ledger's invariants hold afterwards.
"""

import argparse
import io
import json
import multiprocessing
import os
import random
import time
import uuid

import psycopg

from bench._db import fresh_database, use_django


def huiji_worker(url, seconds, member_ids, store_ids, queue):
    use_django(url)
    from apps.members.models import Member
    from apps.points.errors import InsufficientPoints
    from apps.points.services import points_earn, points_redeem
    from apps.stores.models import Store

    members = Member.objects.in_bulk(member_ids)
    stores = list(Store.objects.filter(pk__in=store_ids))
    rng, done, refused, until = random.Random(os.getpid()), 0, 0, time.monotonic() + seconds
    while time.monotonic() < until:
        member = members[rng.choice(member_ids)]
        key = uuid.uuid4().hex
        if rng.random() < 0.5:
            points_earn(
                member=member,
                amount=50,
                key=key,
                cause_kind="demo",
                description="得积分",
                pending=False,
            )
        else:
            try:
                points_redeem(
                    member=member,
                    amount=30,
                    key=key,
                    cause_kind="demo",
                    description="积分抵现",
                    store=rng.choice(stores),
                )
            except InsufficientPoints:
                refused += 1
        done += 1
    queue.put((done, refused))


def baseline_worker(url, seconds, member_ids, store_ids, queue):
    """The same statements the service runs, written by hand."""
    rng, done, refused, until = random.Random(os.getpid()), 0, 0, time.monotonic() + seconds
    with psycopg.connect(url) as conn:
        # a member's earns use their part of issuance, as Account.part_of says
        issuance_parts = dict(
            conn.execute("SELECT part, id FROM points_account WHERE kind = 'issuance'")
        )
        accounts = dict(
            conn.execute("SELECT member_id, id FROM points_account WHERE member_id IS NOT NULL")
        )
        store_accounts = [
            row[0]
            for row in conn.execute("SELECT id FROM points_account WHERE store_id IS NOT NULL")
        ]
        conn.commit()
        while time.monotonic() < until:
            member_id = rng.choice(member_ids)
            account = accounts[member_id]
            issuance = issuance_parts[1 + member_id % (len(issuance_parts) - 1)]
            with conn.transaction():
                if rng.random() < 0.5:
                    _lock(conn, issuance, account)
                    _transfer(conn, "earn", issuance, account, 50, member_id)
                    entry = conn.execute("SELECT currval('points_entry_id_seq')").fetchone()[0]
                    conn.execute(
                        "INSERT INTO points_lot (member_id, entry_id, amount, remaining, status, expires_on) "
                        "VALUES (%s, %s, 50, 50, 'available', current_date + 365)",
                        [member_id, entry],
                    )
                else:
                    store = rng.choice(store_accounts)
                    balances = _lock(conn, account, store)
                    if balances[account] < 30:
                        refused += 1
                    else:
                        _transfer(conn, "redeem", account, store, 30, member_id)
                        entry = conn.execute("SELECT currval('points_entry_id_seq')").fetchone()[0]
                        _spend(conn, member_id, entry, 30)
            done += 1
    queue.put((done, refused))


def _lock(conn, *ids):
    rows = conn.execute(
        "SELECT id, balance FROM points_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
        [sorted(set(ids))],
    )
    return dict(rows)


def _transfer(conn, kind, source, target, amount, member_id):
    conn.execute("UPDATE points_account SET balance = balance - %s WHERE id = %s", [amount, source])
    conn.execute("UPDATE points_account SET balance = balance + %s WHERE id = %s", [amount, target])
    conn.execute(
        "INSERT INTO points_entry (kind, from_account_id, to_account_id, amount, member_id, idempotency_key, "
        "cause_kind, description, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'demo', '', now())",
        [kind, source, target, amount, member_id, uuid.uuid4().hex],
    )


def _spend(conn, member_id, entry, amount):
    lots = conn.execute(
        "SELECT id, remaining FROM points_lot WHERE member_id = %s AND status = 'available' AND remaining > 0 "
        "ORDER BY expires_on, id",
        [member_id],
    ).fetchall()
    for lot, remaining in lots:
        part = min(remaining, amount)
        conn.execute(
            "INSERT INTO points_lotuse (entry_id, lot_id, amount) VALUES (%s, %s, %s)",
            [entry, lot, part],
        )
        conn.execute("UPDATE points_lot SET remaining = remaining - %s WHERE id = %s", [part, lot])
        amount -= part
        if amount == 0:
            break


def run(worker, url, args, member_ids, store_ids) -> tuple[float, int]:
    queue = multiprocessing.get_context("spawn").Queue()
    processes = [
        multiprocessing.get_context("spawn").Process(
            target=worker, args=(url, args.seconds, member_ids, store_ids, queue)
        )
        for _ in range(args.workers)
    ]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    done = sum(r[0] for r in results)
    return done / args.seconds, sum(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args()

    with fresh_database() as url:
        use_django(url)
        from django.core.management import call_command

        from apps.points.models import Account
        from apps.points.verification import ledger_problems

        call_command("migrate", verbosity=0)
        call_command("seed_demo", "--members", str(args.members), stdout=io.StringIO())
        from apps.members.models import Member
        from apps.points.services import member_account
        from apps.stores.models import Store

        member_ids = list(Member.objects.values_list("pk", flat=True))
        for member in Member.objects.all():
            member_account(member)
        store_ids = list(Store.objects.values_list("pk", flat=True))
        for store_id in store_ids:
            Account.objects.get_or_create(kind=Account.Kind.STORE, store_id=store_id)
        from django.db import connections

        connections.close_all()
        print(
            f"{len(member_ids)} members, {len(store_ids)} store accounts, {args.workers} workers, "
            f"{args.seconds:.0f} s a side"
        )

        run(
            huiji_worker,
            url,
            argparse.Namespace(**{**vars(args), "seconds": 2}),
            member_ids,
            store_ids,
        )  # warm up
        huiji_rate, huiji_refused = run(huiji_worker, url, args, member_ids, store_ids)
        base_rate, base_refused = run(baseline_worker, url, args, member_ids, store_ids)
        print(
            f"huiji:    {huiji_rate:8.1f} transfers/s  ({huiji_refused} refused for want of points)"
        )
        print(f"baseline: {base_rate:8.1f} transfers/s  ({base_refused} refused)")
        problems = ledger_problems()
        print(f"ledger invariants: {problems or 'all hold'}")
        connections.close_all()

    result = {
        "bench": "ledger",
        "huiji_rate": round(huiji_rate, 1),
        "baseline_rate": round(base_rate, 1),
        "ratio": round(huiji_rate / base_rate, 2),
        "workers": args.workers,
        "errors": len(problems),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
