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
import functools
import hashlib
import json
import multiprocessing
import subprocess
import sys
import uuid

from bench._db import BROKER, deployed_env, fresh_database, redis_empty
from bench._http import Connection, serve
from bench._load import (
    SQL,
    demo_brand,
    http_phases,
    ledger_accounts,
    load,
    members_to_sell_to,
    sql_connections,
    sql_earn,
    sql_lines,
    sql_phase,
    sql_points_spend,
)

LINES = [("SKU0001", "99.00", 1), ("SKU0002", "109.00", 2)]


def setup(url: str, members: int, promoter: bool = False, stores: int = 1) -> dict:
    """The demo brand, then `members` members each with 3,000 points, one coupon and a member
    code to show at the till; with `promoter`, each bound to a promoter who has one of their
    own, so that every order credits two levels. A POS key for each of the first `stores`
    demo stores (S001 first): "keys"; "key" and "store" are S001's."""
    demo_brand(url)
    from datetime import timedelta

    from django.utils import timezone

    from apps.members.credentials import member_code_issue
    from apps.points.services import store_account
    from apps.stores.models import Store
    from apps.stores.services import pos_key_create

    shops = list(
        Store.objects.filter(code__in=[f"S{n:03d}" for n in range(1, stores + 1)]).order_by("code")
    )
    store = shops[0]
    keys = [pos_key_create(store=shop, name="bench")[1] for shop in shops]
    for shop in shops:  # the accounts their points are spent to, ready before the rush
        store_account(shop)
    plan = []
    for member, coupon in members_to_sell_to(members, store, "1560000"):
        # The member shows their code (points need them present); made to outlive the run.
        code, _expires = member_code_issue(member=member, now=timezone.now() + timedelta(hours=2))
        plan.append((member.pk, coupon, code))
    if promoter:
        promoters_bind([member_id for member_id, _coupon, _code in plan])
    from django.db import connections

    connections.close_all()
    return {"key": keys[0], "keys": keys, "plan": plan, "store": store.pk}


def promoters_bind(member_ids: list[int]) -> None:
    """Each member bound to one promoter, who is bound to another: two levels credited."""
    from apps.members.models import Member, PromoterBinding

    top, middle = Member.objects.bulk_create(
        Member(phone=f"1550000{n:04d}", source="store") for n in range(2)
    )
    PromoterBinding.objects.bulk_create(
        [PromoterBinding(member=middle, promoter=top, source="link")]
        + [PromoterBinding(member_id=pk, promoter=middle, source="link") for pk in member_ids]
    )


def order_body(member_code, coupon, n, lines=LINES):
    return {
        "external_id": f"B-{n}-{uuid.uuid4().hex[:8]}",
        "member_code": member_code,
        "lines": [{"sku": sku, "quantity": q, "unit_price": price} for sku, price, q in lines],
        "coupon_codes": [coupon],
        "points": 500,
    }


def _post_order(conn, key, body) -> int:
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
    return status


def http_worker(port, shares, pace, start, queue):
    """Keep-alive connections to the POS pool (bench._load.load), each sending its share of
    (store's POS key, order body)."""
    connections = [Connection(port) for _ in shares]
    load(connections, lambda conn, sale: _post_order(conn, *sale), shares, pace, start, queue)


# The same writes as order_place_paid, by hand, with bench._load's.
POS_SQL = {
    "coupon": "SELECT c.id, t.threshold, t.amount FROM coupons_coupon c JOIN coupons_coupontemplate t ON t.id = c.template_id WHERE c.code = %s AND c.member_id = %s AND c.status = 'available' FOR UPDATE OF c",
    "order": "INSERT INTO orders_order (order_no, channel, store_id, member_id, external_id, status, subtotal, member_discount, coupon_discount, points_deduction, payable, points_used, points_earned, growth_earned, paid_amount, refunded_amount, quote, prepay_id, created_at) VALUES (NULL, 'pos', %s, %s, %s, 'created', %s, 0, %s, %s, %s, %s, 0, 0, 0, 0, '{}', '', now()) RETURNING id",
    "member_code": "UPDATE members_membercode SET used_at = now(), store_id = %s WHERE code_hash = %s AND used_at IS NULL AND expires_at > now()",
    "use_coupon": "UPDATE coupons_coupon SET status = 'used', used_at = now(), used_store_id = %s, order_id = %s, discount = %s WHERE id = %s",
    "paid": "UPDATE orders_order SET order_no = %s, status = 'paid', paid_amount = payable, paid_at = now(), points_earned = %s, growth_earned = %s WHERE id = %s",
}


def _sql_order(store_id, accounts, conn, numbered) -> int:
    from decimal import Decimal

    n, (member_id, coupon, code) = numbered
    with conn.transaction():
        external_id = f"S-{n}-{uuid.uuid4().hex[:8]}"
        conn.execute(SQL["idem"], (f"pos:{store_id}", external_id))
        # The member is present: their code is spent with the sale, as Huiji does.
        spent = conn.execute(
            POS_SQL["member_code"], (store_id, hashlib.sha256(code.encode()).hexdigest())
        )
        assert spent.rowcount == 1
        prices = {
            sku: price
            for sku, price, *_ in conn.execute(SQL["products"], (None, [s for s, _p, _q in LINES]))
        }
        subtotal = sum(prices[sku] * q for sku, _p, q in LINES)
        coupon_id, _threshold, off = conn.execute(POS_SQL["coupon"], (coupon, member_id)).fetchone()
        balance = conn.execute(SQL["balance"], (member_id,)).fetchone()[0]
        points = min(500, balance)
        deduction = Decimal(points) / 100
        payable = subtotal - off - deduction
        order_id = conn.execute(
            POS_SQL["order"],
            (store_id, member_id, external_id, subtotal, off, deduction, payable, points),
        ).fetchone()[0]
        sql_lines(conn, order_id, [(s, q) for s, _p, q in LINES], prices)
        conn.execute(POS_SQL["use_coupon"], (store_id, order_id, off, coupon_id))
        # numbered once its coupon is used, before its entries name it, as Huiji does
        last = conn.execute(SQL["counter"], (store_id,)).fetchone()[0]
        order_no = f"S001-{last:06d}-{n}"
        sql_points_spend(conn, accounts, member_id, points, order_id, order_no)
        conn.execute(SQL["payment"], (order_id, payable, "pos", f"sql:{order_id}"))
        earned = int(payable)
        sql_earn(conn, accounts, member_id, order_id, order_no, earned)
        conn.execute(POS_SQL["paid"], (order_no, earned, earned, order_id))
    return 201


def sql_worker(url, store_id, accounts, shares, start, queue):
    load(
        sql_connections(url, len(shares)),
        functools.partial(_sql_order, store_id, accounts),
        shares,
        None,
        start,
        queue,
    )


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
        plan, key = made["plan"], made["key"]
        peak_plan, paced_plan, sql_plan = (
            plan[: args.orders],
            plan[args.orders : 2 * args.orders],
            plan[2 * args.orders :],
        )
        # the sales' events go on a broker's queue, as in production (no worker takes them)
        env = deployed_env(url, THROTTLE_POS="1000000/min", CELERY_BROKER_URL=BROKER)
        with serve(env, "pos", args.workers) as port:
            peak, paced = http_phases(
                http_worker,
                (port,),
                [(key, order_body(code, c, n)) for n, (_m, c, code) in enumerate(paced_plan[:50])],
                [(key, order_body(code, c, n)) for n, (_m, c, code) in enumerate(peak_plan)],
                [
                    (key, order_body(code, c, n + 10**6))
                    for n, (_m, c, code) in enumerate(paced_plan[50:])
                ],
                processes=args.processes,
                threads=threads,
            )
        baseline = sql_phase(
            sql_worker,
            (url, made["store"], ledger_accounts(url, made["store"])),
            list(enumerate(sql_plan)),
            processes=args.processes,
            threads=threads,
        )
        checks = subprocess.run(
            [sys.executable, "-m", "bench.pos_checkout_checks"],
            env=env,
            input=json.dumps([c for _m, c, _code in peak_plan]),
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
