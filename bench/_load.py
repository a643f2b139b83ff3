# ruff: noqa: E501  (SQL reads better unbroken)
"""What the checkout benchmarks (`pos_checkout`, `mall_checkout`) share: the brand they sell
for (the demo, and members each with points and a coupon), the load (threads in load
processes, flat out, then at 70% of the peak on fixed schedules), the figures of one side,
and the hand-written ledger writes of a sale (points spent at the store; points, growth and
the `order_paid` event earned), which both baselines do as Huiji does them."""

import threading
import time

import psycopg

from bench.coupon_claim import fan_out, released, split

COUPON_TEMPLATE = "基准满100减10"
POINTS = 3000  # each member's, to spend 500 of


def demo_brand(url: str) -> None:
    """In a child process: Django on `url`, migrated, with the demo brand seeded."""
    import io

    from bench._db import use_django

    use_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--members", "50", stdout=io.StringIO())


def members_to_sell_to(count: int, store, phone_prefix: str) -> list[tuple]:
    """`count` members of `store`, each with POINTS points and one coupon of 10 off 100:
    [(member, coupon code)]; and the store's account, that their points are spent to."""
    from apps.coupons.issuing import coupon_issue_for_event
    from apps.coupons.models import CouponTemplate
    from apps.members.models import Member
    from apps.points.models import Account, Entry
    from apps.points.services import points_earn

    Account.objects.get_or_create(kind=Account.Kind.STORE, store=store)

    template, _made = CouponTemplate.objects.get_or_create(
        name=COUPON_TEMPLATE,
        defaults={"kind": "threshold", "threshold": 100, "amount": 10, "valid_days": 30},
    )
    people = Member.objects.bulk_create(
        Member(phone=f"{phone_prefix}{n:04d}", source="store", home_store=store)
        for n in range(count)
    )
    sold_to = []
    for member in people:
        points_earn(
            member=member,
            amount=POINTS,
            key=f"bench:{member.pk}",
            cause_kind=Entry.CauseKind.DEMO,
            description="t",
            pending=False,
        )
        coupon = coupon_issue_for_event(
            template=template, member=member, cause_kind="demo", cause_id=member.pk
        )
        sold_to.append((member, coupon.code))
    return sold_to


def load(connections, attempt, shares, pace, start, queue) -> None:
    """In a load process: one thread per share, each on its own connection, calling
    `attempt(connection, item)` (its status) for each item of its share. With `pace` =
    (seconds, offsets) each thread sends on a fixed schedule, one every `seconds` from its
    own offset, and its latency counts from when the attempt was due, so a late answer also
    delays the ones after it (no coordinated omission)."""
    results, lock = [], threading.Lock()

    def run(conn, share, offset):
        first = time.perf_counter() + offset
        for n, item in enumerate(share):
            due = first + n * pace[0] if pace else time.perf_counter()
            time.sleep(max(due - time.perf_counter(), 0))
            status = attempt(conn, item)
            elapsed = time.perf_counter() - due
            with lock:
                results.append((time.perf_counter(), elapsed, status, ""))
        conn.close()

    offsets = pace[1] if pace else [0] * len(shares)
    threads = [
        threading.Thread(target=run, args=(conn, share, offset))
        for conn, share, offset in zip(connections, shares, offsets, strict=True)
    ]
    released(start)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def rate_and_latency(results, started, ok: int = 201) -> dict:
    done = [r for r in results if r[2] == ok]
    latencies = sorted(r[1] * 1000 for r in results)
    window = max(r[0] for r in results) - started
    return {
        "rate": len(done) / window,
        "errors": len(results) - len(done),
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)],
    }


def http_phases(worker, args, warm, peak, paced, *, processes, threads, ok=201):
    """Huiji's side: `warm` flat out, `peak` flat out, then `paced` at 70% of the peak rate,
    each connection on its own schedule, the schedules staggered evenly so that all
    together send at an even rate. `worker(*args, shares, pace, start, queue)` runs in each
    load process. Returns the peak's figures and the paced run's."""

    def run(items, pace):
        return rate_and_latency(
            *fan_out(
                worker,
                lambda n: (
                    *args,
                    split(items[n::processes], threads),
                    pace(n) if pace else None,
                ),
                processes,
            ),
            ok=ok,
        )

    run(warm, None)
    top = run(peak, None)
    connections = processes * threads
    every = connections / (0.7 * top["rate"])

    def pace(n):
        return every, [every * (t * processes + n) / connections for t in range(threads)]

    return top, run(paced, pace)


def sql_phase(worker, args, items, *, processes, threads, ok=201) -> dict:
    """The baseline's side: `items` flat out, `worker(*args, shares, start, queue)` in each
    load process."""
    return rate_and_latency(
        *fan_out(worker, lambda n: (*args, split(items[n::processes], threads)), processes),
        ok=ok,
    )


def sql_connections(url: str, count: int) -> list:
    return [psycopg.connect(url) for _ in range(count)]


def ledger_accounts(url: str, store_id: int) -> dict:
    """The ledger accounts a baseline's sale moves points between: each member's, the
    store's, and the brand's issuance and pending accounts, {part: id} each (a member's
    sales use part 1 + member id % (parts − 1), as Account.part_of)."""
    with psycopg.connect(url) as conn:
        parts = {"issuance": {}, "pending": {}}
        for kind, part, account in conn.execute(
            "SELECT kind, part, id FROM points_account WHERE kind IN ('issuance', 'pending')"
        ):
            parts[kind][part] = account
        return {
            "members": dict(
                conn.execute("SELECT member_id, id FROM points_account WHERE member_id IS NOT NULL")
            ),
            "store": conn.execute(
                "SELECT id FROM points_account WHERE store_id = %s", (store_id,)
            ).fetchone()[0],
            **parts,
        }


def _part(accounts: dict, kind: str, member_id: int) -> int:
    return accounts[kind][1 + member_id % (len(accounts[kind]) - 1)]


# The statements both baselines write as Huiji's checkout does.
SQL = {
    "idem": "INSERT INTO core_idempotencykey (scope, key, fingerprint, response_status, response_body, created_at) VALUES (%s, %s, 'x', 201, '{}', now())",
    "products": "SELECT s.sku, s.price, COALESCE(tp.price, s.member_price), c.name, pc.name FROM mall_sku s JOIN mall_product p ON p.id = s.product_id JOIN mall_category c ON c.id = p.category_id LEFT JOIN mall_category pc ON pc.id = c.parent_id LEFT JOIN mall_tierprice tp ON tp.sku_id = s.id AND tp.tier_id = %s WHERE s.sku = ANY(%s)",
    "balance": "SELECT balance FROM points_account WHERE member_id = %s",
    "counter": "INSERT INTO orders_ordercounter (store_id, day, last) VALUES (%s, current_date, 1) ON CONFLICT (store_id, day) DO UPDATE SET last = orders_ordercounter.last + 1 RETURNING last",
    "lines": "INSERT INTO orders_orderline (order_id, line_no, sku, name, category, quantity, unit_price, list_amount, member_discount, coupon_discount, points_deduction, paid, refunded_quantity, refunded_amount) SELECT %s, n, sku, sku, '', q, p, p * q, 0, 0, 0, p * q, 0, 0 FROM unnest(%s::int[], %s::text[], %s::int[], %s::numeric[]) AS l(n, sku, q, p)",
    "lock": "SELECT id, balance FROM points_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
    "move": "UPDATE points_account SET balance = balance + CASE WHEN id = %s THEN -%s::bigint ELSE %s::bigint END WHERE id IN (%s, %s)",
    "entry": "INSERT INTO points_entry (kind, from_account_id, to_account_id, amount, member_id, idempotency_key, cause_kind, cause_id, description, created_at) VALUES (%s, %s, %s, %s, %s, NULL, 'order', %s, %s, now()) RETURNING id",
    "lots": "SELECT id, remaining FROM points_lot WHERE member_id = %s AND status = 'available' AND remaining > 0 ORDER BY expires_on, id",
    "lotuse": "INSERT INTO points_lotuse (entry_id, lot_id, amount) VALUES (%s, %s, %s)",
    "spend": "UPDATE points_lot SET remaining = remaining - %s WHERE id = %s",
    "payment": "INSERT INTO orders_payment (order_id, amount, method, transaction_id, created_at) VALUES (%s, %s, %s, %s, now())",
    "lot": "INSERT INTO points_lot (member_id, entry_id, amount, remaining, status, expires_on, matures_at) VALUES (%s, %s, %s, %s, 'pending', current_date + 400, now() + interval '7 days')",
    "tier": "SELECT member_id FROM tiers_membertier WHERE member_id = %s FOR UPDATE",
    "growth": "INSERT INTO tiers_growthentry (member_id, kind, amount, key, cause_kind, cause_id, description, created_at) VALUES (%s, 'order', %s, NULL, 'order', %s, %s, now())",
    "event": "INSERT INTO core_event (name, payload, status, attempts, next_attempt_at, last_error, created_at) VALUES ('order_paid', %s, 'pending', 0, now() + interval '1 minute', '', now())",
}


def sql_lines(conn, order_id: int, lines: list[tuple[str, int]], prices: dict) -> None:
    """An order's lines ((sku, quantity)) in one statement."""
    conn.execute(
        SQL["lines"],
        (
            order_id,
            list(range(1, len(lines) + 1)),
            [sku for sku, _q in lines],
            [q for _sku, q in lines],
            [prices[sku] for sku, _q in lines],
        ),
    )


def sql_points_spend(conn, accounts, member_id, points, order_id, order_no) -> None:
    """The member's points to the store's account, drawn from their oldest lots."""
    member_account, store_account = accounts["members"][member_id], accounts["store"]
    conn.execute(SQL["lock"], ([member_account, store_account],))
    conn.execute(SQL["move"], (member_account, points, points, member_account, store_account))
    entry = conn.execute(
        SQL["entry"],
        (
            "redeem",
            member_account,
            store_account,
            points,
            member_id,
            order_id,
            f"订单 {order_no} 积分抵现",
        ),
    ).fetchone()[0]
    left = points
    for lot_id, remaining in conn.execute(SQL["lots"], (member_id,)).fetchall():
        part = min(left, remaining)
        conn.execute(SQL["lotuse"], (entry, lot_id, part))
        conn.execute(SQL["spend"], (part, lot_id))
        left -= part
        if not left:
            break


def sql_earn(conn, accounts, member_id, order_id, order_no, earned) -> None:
    """What a paid order earns: pending points, growth, and the `order_paid` event."""
    import json

    issuance, pending = (
        _part(accounts, "issuance", member_id),
        _part(accounts, "pending", member_id),
    )
    conn.execute(SQL["lock"], ([issuance, pending],))
    conn.execute(SQL["move"], (issuance, earned, earned, issuance, pending))
    earn = conn.execute(
        SQL["entry"],
        (
            "earn",
            issuance,
            pending,
            earned,
            member_id,
            order_id,
            f"订单 {order_no} 消费得积分",
        ),
    ).fetchone()[0]
    conn.execute(SQL["lot"], (member_id, earn, earned, earned))
    conn.execute(SQL["tier"], (member_id,))
    conn.execute(SQL["growth"], (member_id, earned, order_id, f"订单 {order_no} 消费成长值"))
    conn.execute(SQL["event"], (json.dumps({"order": order_id, "member": member_id}),))
