# ruff: noqa: E501  (SQL reads better unbroken)
"""POS checkouts over HTTP through gunicorn (production settings, PostgreSQL): each order has
a member, a coupon and points to spend; then the same writes in hand-written SQL with
psycopg at the same concurrency, on the same database.

    python -m bench.pos_checkout --orders 3000 --concurrency 16 [--promoter]

Prints orders per second, p50/p99 latency, queries per order (with 2 lines and with 20),
and, at about 70% of the peak rate, the p99 again; checks verify_ledger, that every
coupon was used once and that no order was written twice.
"""

import argparse
import hashlib
import json
import multiprocessing
import subprocess
import sys
import threading
import time
import uuid

import psycopg

from bench._db import BROKER, deployed_env, fresh_database, redis_empty, use_django
from bench._http import Connection, serve
from bench.coupon_claim import fan_out, released, split

LINES = [("SKU0001", "99.00", 1), ("SKU0002", "109.00", 2)]


def setup(url: str, members: int, promoter: bool = False) -> dict:
    """The demo brand, then `members` members each with 3,000 points, one coupon and a member
    code to show at the till; with `promoter`, each bound to a promoter who has one of their
    own, so that every order credits two levels."""
    use_django(url)
    import io

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--members", "50", stdout=io.StringIO())
    from datetime import timedelta

    from django.utils import timezone

    from apps.coupons.issuing import coupon_issue_for_event
    from apps.coupons.models import CouponTemplate
    from apps.members.credentials import member_code_issue
    from apps.members.models import Member
    from apps.points.models import Account, Entry
    from apps.points.services import points_earn
    from apps.stores.models import Store
    from apps.stores.services import pos_key_create

    template = CouponTemplate.objects.create(
        name="基准满100减10", kind="threshold", threshold=100, amount=10, valid_days=30
    )
    store = Store.objects.get(code="S001")
    Account.objects.get_or_create(kind=Account.Kind.STORE, store=store)
    _key, raw_key = pos_key_create(store=store, name="bench")
    people = Member.objects.bulk_create(
        Member(phone=f"1560000{n:04d}", source="store", home_store=store) for n in range(members)
    )
    if promoter:
        from apps.members.models import PromoterBinding

        top, middle = Member.objects.bulk_create(
            Member(phone=f"1550000{n:04d}", source="store") for n in range(2)
        )
        PromoterBinding.objects.bulk_create(
            PromoterBinding(member=member, promoter=upline, source="link")
            for member, upline in [(middle, top)] + [(member, middle) for member in people]
        )
    plan = []
    for member in people:
        points_earn(
            member=member,
            amount=3000,
            key=f"bench:{member.pk}",
            cause_kind=Entry.CauseKind.DEMO,
            description="t",
            pending=False,
        )
        coupon = coupon_issue_for_event(
            template=template, member=member, cause_kind="demo", cause_id=member.pk
        )
        # The member shows their code (points need them present); made to outlive the run.
        code, _expires = member_code_issue(member=member, now=timezone.now() + timedelta(hours=2))
        plan.append((member.pk, coupon.code, code))
    from django.db import connections

    connections.close_all()
    return {"key": raw_key, "plan": plan, "store": store.pk}


def order_body(member_code, coupon, n, lines=LINES):
    return {
        "external_id": f"B-{n}-{uuid.uuid4().hex[:8]}",
        "member_code": member_code,
        "lines": [{"sku": sku, "quantity": q, "unit_price": price} for sku, price, q in lines],
        "coupon_codes": [coupon],
        "points": 500,
    }


def http_worker(port, key, shares, pace, start, queue):
    """Threads with keep-alive connections. With `pace` = (seconds, offsets) each thread sends
    on a fixed schedule, one request every `seconds` from its own offset, and its latency
    counts from when the request was due, so a late answer also delays the ones after it
    (no coordinated omission)."""
    results, lock = [], threading.Lock()

    def run(share, offset):
        conn = Connection(port)
        first = time.perf_counter() + offset
        for n, body in enumerate(share):
            due = first + n * pace[0] if pace else time.perf_counter()
            time.sleep(max(due - time.perf_counter(), 0))
            started = due
            status, _ = conn.request(
                "POST",
                "/api/pos/v1/orders",
                {
                    "Authorization": f"Api-Key {key}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": body["external_id"],
                },
                json.dumps(body).encode(),
            )
            elapsed = time.perf_counter() - started
            with lock:
                results.append((time.perf_counter(), elapsed, status, ""))
        conn.close()

    offsets = pace[1] if pace else [0] * len(shares)
    threads = [
        threading.Thread(target=run, args=(share, offset))
        for share, offset in zip(shares, offsets, strict=True)
    ]
    released(start)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


# The same writes as order_place_paid, by hand.
SQL = {
    "idem": "INSERT INTO core_idempotencykey (scope, key, fingerprint, response_status, response_body, created_at) VALUES (%s, %s, 'x', 201, '{}', now())",
    "products": "SELECT sku, price, member_price FROM mall_sku WHERE sku = ANY(%s)",
    "coupon": "SELECT c.id, t.threshold, t.amount FROM coupons_coupon c JOIN coupons_coupontemplate t ON t.id = c.template_id WHERE c.code = %s AND c.member_id = %s AND c.status = 'available' FOR UPDATE OF c",
    "balance": "SELECT balance FROM points_account WHERE member_id = %s",
    "counter": "INSERT INTO orders_ordercounter (store_id, day, last) VALUES (%s, current_date, 1) ON CONFLICT (store_id, day) DO UPDATE SET last = orders_ordercounter.last + 1 RETURNING last",
    "order": "INSERT INTO orders_order (order_no, channel, store_id, member_id, external_id, status, subtotal, member_discount, coupon_discount, points_deduction, payable, points_used, points_earned, growth_earned, paid_amount, refunded_amount, quote, prepay_id, created_at) VALUES (NULL, 'pos', %s, %s, %s, 'created', %s, 0, %s, %s, %s, %s, 0, 0, 0, 0, '{}', '', now()) RETURNING id",
    "member_code": "UPDATE members_membercode SET used_at = now(), store_id = %s WHERE code_hash = %s AND used_at IS NULL AND expires_at > now()",
    "lines": "INSERT INTO orders_orderline (order_id, line_no, sku, name, category, quantity, unit_price, list_amount, member_discount, coupon_discount, points_deduction, paid, refunded_quantity, refunded_amount) SELECT %s, n, sku, sku, '', q, p, p * q, 0, 0, 0, p * q, 0, 0 FROM unnest(%s::int[], %s::text[], %s::int[], %s::numeric[]) AS l(n, sku, q, p)",
    "use_coupon": "UPDATE coupons_coupon SET status = 'used', used_at = now(), used_store_id = %s, order_id = %s, discount = %s WHERE id = %s",
    "lock": "SELECT id, balance FROM points_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
    "move": "UPDATE points_account SET balance = balance + CASE WHEN id = %s THEN -%s::bigint ELSE %s::bigint END WHERE id IN (%s, %s)",
    "entry": "INSERT INTO points_entry (kind, from_account_id, to_account_id, amount, member_id, idempotency_key, cause_kind, cause_id, description, created_at) VALUES (%s, %s, %s, %s, %s, NULL, 'order', %s, %s, now()) RETURNING id",
    "lots": "SELECT id, remaining FROM points_lot WHERE member_id = %s AND status = 'available' AND remaining > 0 ORDER BY expires_on, id",
    "lotuse": "INSERT INTO points_lotuse (entry_id, lot_id, amount) VALUES (%s, %s, %s)",
    "spend": "UPDATE points_lot SET remaining = remaining - %s WHERE id = %s",
    "payment": "INSERT INTO orders_payment (order_id, amount, method, transaction_id, created_at) VALUES (%s, %s, 'pos', %s, now())",
    "lot": "INSERT INTO points_lot (member_id, entry_id, amount, remaining, status, expires_on, matures_at) VALUES (%s, %s, %s, %s, 'pending', current_date + 400, now() + interval '7 days')",
    "tier": "SELECT member_id FROM tiers_membertier WHERE member_id = %s FOR UPDATE",
    "growth": "INSERT INTO tiers_growthentry (member_id, kind, amount, key, cause_kind, cause_id, description, created_at) VALUES (%s, 'order', %s, NULL, 'order', %s, %s, now())",
    "paid": "UPDATE orders_order SET order_no = %s, status = 'paid', paid_amount = payable, paid_at = now(), points_earned = %s, growth_earned = %s WHERE id = %s",
    "event": "INSERT INTO core_event (name, payload, status, attempts, next_attempt_at, last_error, created_at) VALUES ('order_paid', %s, 'pending', 0, now() + interval '1 minute', '', now())",
}


def sql_worker(url, store_id, accounts, shares, start, queue):
    from decimal import Decimal

    results, lock = [], threading.Lock()

    def one(conn, member_id, coupon, code, n):
        with conn.transaction():
            external_id = f"S-{n}-{uuid.uuid4().hex[:8]}"
            conn.execute(SQL["idem"], (f"pos:{store_id}", external_id))
            # The member is present: their code is spent with the sale, as Huiji does.
            spent = conn.execute(
                SQL["member_code"], (store_id, hashlib.sha256(code.encode()).hexdigest())
            )
            assert spent.rowcount == 1
            prices = {
                sku: price
                for sku, price, *_ in conn.execute(SQL["products"], ([s for s, _p, _q in LINES],))
            }
            subtotal = sum(prices[sku] * q for sku, _p, q in LINES)
            coupon_id, _threshold, off = conn.execute(SQL["coupon"], (coupon, member_id)).fetchone()
            balance = conn.execute(SQL["balance"], (member_id,)).fetchone()[0]
            points = min(500, balance)
            deduction = Decimal(points) / 100
            payable = subtotal - off - deduction
            order_id = conn.execute(
                SQL["order"],
                (
                    store_id,
                    member_id,
                    external_id,
                    subtotal,
                    off,
                    deduction,
                    payable,
                    points,
                ),
            ).fetchone()[0]
            conn.execute(
                SQL["lines"],
                (
                    order_id,
                    list(range(1, len(LINES) + 1)),
                    [s for s, _p, _q in LINES],
                    [q for _s, _p, q in LINES],
                    [prices[s] for s, _p, _q in LINES],
                ),
            )
            conn.execute(SQL["use_coupon"], (store_id, order_id, off, coupon_id))
            # numbered once its coupon is used, before its entries name it, as Huiji does
            last = conn.execute(SQL["counter"], (store_id,)).fetchone()[0]
            order_no = f"S001-{last:06d}-{n}"
            member_account, store_account = accounts["members"][member_id], accounts["store"]
            conn.execute(SQL["lock"], ([member_account, store_account],))
            conn.execute(
                SQL["move"], (member_account, points, points, member_account, store_account)
            )
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
            conn.execute(SQL["payment"], (order_id, payable, f"sql:{order_id}"))
            earned = int(payable)
            conn.execute(SQL["lock"], ([accounts["issuance"], accounts["pending"]],))
            conn.execute(
                SQL["move"],
                (accounts["issuance"], earned, earned, accounts["issuance"], accounts["pending"]),
            )
            earn = conn.execute(
                SQL["entry"],
                (
                    "earn",
                    accounts["issuance"],
                    accounts["pending"],
                    earned,
                    member_id,
                    order_id,
                    f"订单 {order_no} 消费得积分",
                ),
            ).fetchone()[0]
            conn.execute(SQL["lot"], (member_id, earn, earned, earned))
            conn.execute(SQL["tier"], (member_id,))
            conn.execute(
                SQL["growth"], (member_id, earned, order_id, f"订单 {order_no} 消费成长值")
            )
            conn.execute(SQL["event"], (json.dumps({"order": order_id, "member": member_id}),))
            conn.execute(SQL["paid"], (order_no, earned, earned, order_id))

    def run(conn, share):
        with conn:
            for n, (member_id, coupon, code) in share:
                started = time.perf_counter()
                one(conn, member_id, coupon, code, n)
                with lock:
                    results.append((time.perf_counter(), time.perf_counter() - started, 201, ""))

    threads = [threading.Thread(target=run, args=(psycopg.connect(url), share)) for share in shares]
    released(start)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def rate_and_latency(results, started) -> dict:
    ok = [r for r in results if r[2] == 201]
    latencies = sorted(r[1] * 1000 for r in results)
    window = max(r[0] for r in results) - started
    return {
        "rate": len(ok) / window,
        "errors": len(results) - len(ok),
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: as deployed)")
    parser.add_argument("--processes", type=int, default=4, help="load processes")
    parser.add_argument(
        "--promoter", action="store_true", help="every member bound to a promoter (two levels)"
    )
    args = parser.parse_args()
    threads = max(args.concurrency // args.processes, 1)
    with fresh_database() as url:
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:  # Django set up in a child, so this process stays clean
            made = pool.apply(setup, (url, args.orders * 3, args.promoter))
        plan = made["plan"]
        peak_plan, paced_plan, sql_plan = (
            plan[: args.orders],
            plan[args.orders : 2 * args.orders],
            plan[2 * args.orders :],
        )
        # the sales' events go on a broker's queue, as in production (no worker takes them)
        env = deployed_env(url, THROTTLE_POS="1000000/min", CELERY_BROKER_URL=BROKER)
        with serve(env, "pos", args.workers) as port:
            warm = [order_body(code, c, n) for n, (_m, c, code) in enumerate(paced_plan[:50])]
            fan_out(
                http_worker,
                lambda n: (port, made["key"], split(warm[n :: args.processes], threads), None),
                args.processes,
            )
            bodies = [order_body(code, c, n) for n, (_m, c, code) in enumerate(peak_plan)]
            peak = rate_and_latency(
                *fan_out(
                    http_worker,
                    lambda n: (
                        port,
                        made["key"],
                        split(bodies[n :: args.processes], threads),
                        None,
                    ),
                    args.processes,
                )
            )
            # 70% of the peak: each connection sends on its own schedule, the schedules
            # staggered evenly, so that all together send 0.7 × peak at an even rate.
            connections = args.processes * threads
            every = connections / (0.7 * peak["rate"])

            def pace(n):
                return every, [
                    every * (t * args.processes + n) / connections for t in range(threads)
                ]

            paced_bodies = [
                order_body(code, c, n + 10**6) for n, (_m, c, code) in enumerate(paced_plan[50:])
            ]
            paced = rate_and_latency(
                *fan_out(
                    http_worker,
                    lambda n: (
                        port,
                        made["key"],
                        split(paced_bodies[n :: args.processes], threads),
                        pace(n),
                    ),
                    args.processes,
                )
            )
        with psycopg.connect(url) as conn:
            accounts = {
                "members": dict(
                    conn.execute(
                        "SELECT member_id, id FROM points_account WHERE member_id IS NOT NULL"
                    )
                ),
                "store": conn.execute(
                    "SELECT id FROM points_account WHERE store_id = %s", (made["store"],)
                ).fetchone()[0],
                "issuance": conn.execute(
                    "SELECT id FROM points_account WHERE kind = 'issuance'"
                ).fetchone()[0],
                "pending": conn.execute(
                    "SELECT id FROM points_account WHERE kind = 'pending'"
                ).fetchone()[0],
            }
        numbered = list(enumerate(sql_plan))
        baseline = rate_and_latency(
            *fan_out(
                sql_worker,
                lambda n: (
                    url,
                    made["store"],
                    accounts,
                    split(numbered[n :: args.processes], threads),
                ),
                args.processes,
            )
        )
        checks = subprocess.run(
            [sys.executable, "-m", "bench.pos_checkout_checks"],
            env={**env, "BENCH_PLAN": json.dumps([c for _m, c, _code in peak_plan])},
            capture_output=True,
            text=True,
            check=True,
        )
        facts = json.loads(checks.stdout.strip().splitlines()[-1])
    redis_empty(BROKER)
    ratio = peak["rate"] / baseline["rate"]
    print(
        f"{args.orders:,} POS orders (member, coupon, 500 points, {len(LINES)} lines{', a promoter bound' if args.promoter else ''}), {args.processes}×{threads} connections, gunicorn as config/gunicorn_pos.py{f' with {args.workers} workers' if args.workers else ''}"
    )
    print(
        f"  Huiji  peak   {peak['rate']:7.1f} orders/s  p50 {peak['p50_ms']:.1f} ms  p99 {peak['p99_ms']:.1f} ms  errors {peak['errors']}"
    )
    print(
        f"  Huiji  at 70% {paced['rate']:7.1f} orders/s  p50 {paced['p50_ms']:.1f} ms  p99 {paced['p99_ms']:.1f} ms  errors {paced['errors']}"
    )
    print(
        f"  SQL           {baseline['rate']:7.1f} orders/s  p50 {baseline['p50_ms']:.1f} ms  p99 {baseline['p99_ms']:.1f} ms"
    )
    print(
        f"  ratio {ratio:.2f}; queries per order: {facts['queries_2_lines']} with 2 lines, {facts['queries_20_lines']} with 20; ledger problems: {facts['ledger_problems'] or 'none'}; coupons used once: {facts['coupons_used_once']}; duplicate orders: {facts['duplicates']}"
    )
    print(
        "RESULT "
        + json.dumps(
            {
                "bench": "pos_checkout",
                "promoter": args.promoter,
                "huiji_rate": round(peak["rate"], 1),
                "baseline_rate": round(baseline["rate"], 1),
                "ratio": round(ratio, 2),
                "p50_ms": round(peak["p50_ms"], 1),
                "p99_ms": round(peak["p99_ms"], 1),
                "p99_ms_at_70pct": round(paced["p99_ms"], 1),
                "errors": peak["errors"] + paced["errors"],
                "queries_per_request": facts["queries_2_lines"],
                "queries_per_request_20_lines": facts["queries_20_lines"],
                "ledger_ok": not facts["ledger_problems"],
            }
        )
    )


if __name__ == "__main__":
    main()
