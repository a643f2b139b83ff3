# ruff: noqa: E501  (SQL reads better unbroken)
"""Online orders of a store's mall placed and paid over HTTP through the app pool (granian,
production settings, PostgreSQL): each member buys three SKUs for pickup at S001 with a
coupon and 500 points, the stock reserved at the store, then pays through the sandbox
gateway (`orders/{order_no}/sandbox-pay`: its signed notice, as the gateway's, makes the
order paid); then the same writes in hand-written SQL with psycopg at the same concurrency,
on the same database.

    python -m bench.mall_checkout --orders 1500 --concurrency 16

Prints orders placed and paid per second, p50/p99 latency of the two requests together,
and, at about 70% of the peak rate, the p99 again; queries per order placed and paid (with
1, 3 and 10 lines); checks that no stock went below zero and every stock row's reserved is
what its reservations hold (oversell), verify_ledger, that every coupon was used once and
that no order was written or paid twice.
"""

import argparse
import functools
import json
import multiprocessing
import secrets
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

STORE = "S001"
QUANTITIES = (1, 2, 1)  # of the first three SKUs
CHECKED_SKUS = 10  # the most lines the query count is taken with
STOCK = 10**7


def setup(url: str, members: int) -> dict:
    """The demo brand; the CHECKED_SKUS cheapest SKUs S001's mall sells, with STOCK of each
    at the store (for pickup); `members` members of S001 each with 3,000 points, one coupon
    and a mini-program token."""
    demo_brand(url)
    from apps.mall.models import Sku, Stock
    from apps.mall.selectors import skus_sellable_at
    from apps.members.credentials import member_token_issue
    from apps.stores.models import Store

    store = Store.objects.get(code=STORE)
    sellable = skus_sellable_at(store, Sku.objects.values_list("sku", flat=True), stock_at=store)
    skus = list(
        Sku.objects.filter(sku__in=sellable, member_price__isnull=True)
        .order_by("price", "sku")
        .values_list("sku", flat=True)[:CHECKED_SKUS]
    )
    for sku in Sku.objects.filter(sku__in=skus):
        Stock.objects.update_or_create(sku=sku, store=store, defaults={"on_hand": STOCK})
    plan = [
        (member.pk, coupon, member_token_issue(member=member))
        for member, coupon in members_to_sell_to(members, store, "1580000")
    ]
    from django.db import connections

    connections.close_all()
    return {"plan": plan, "skus": skus, "store": store.pk}


def order_body(coupon: str, skus: list[str]) -> dict:
    return {
        "store_code": STORE,
        "lines": [{"sku": sku, "quantity": q} for sku, q in zip(skus, QUANTITIES, strict=False)],
        "coupon_codes": [coupon],
        "points": 500,
        "fulfilment": {"type": "pickup"},
    }


def _place_and_pay(conn, item) -> int:
    """POST orders, then pay it in the sandbox: 200 once it is paid."""
    token, body = item
    member = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, answer = conn.request(
        "POST",
        "/api/v1/orders",
        {**member, "Idempotency-Key": uuid.uuid4().hex},
        json.dumps(body).encode(),
    )
    if status != 201:
        return status
    order_no = json.loads(answer)["order_no"]
    status, _ = conn.request("POST", f"/api/v1/orders/{order_no}/sandbox-pay", member)
    return status


def http_worker(port, shares, pace, start, queue):
    """Keep-alive connections to the app pool (bench._load.load)."""
    load([Connection(port) for _ in shares], _place_and_pay, shares, pace, start, queue)


# The same writes as order_place, order_payment_start and order_pay, by hand, with
# bench._load's.
MALL_SQL = {
    "left": "SELECT s.sku, st.id, st.on_hand - st.reserved FROM mall_sku s JOIN mall_stock st ON st.sku_id = s.id AND st.store_id = %s WHERE s.sku = ANY(%s) AND s.active",
    "tier": "SELECT tier_id FROM tiers_membertier WHERE member_id = %s",
    "coupon": "SELECT c.id, t.threshold, t.amount FROM coupons_coupon c JOIN coupons_coupontemplate t ON t.id = c.template_id WHERE c.code = %s AND c.member_id = %s AND c.status = 'available' FOR UPDATE OF c",
    "order": "INSERT INTO orders_order (order_no, channel, store_id, member_id, external_id, status, subtotal, member_discount, coupon_discount, points_deduction, shipping_fee, payable, points_used, points_earned, growth_earned, paid_amount, refunded_amount, quote, prepay_id, payment_channel, created_at) VALUES (NULL, 'mall', %s, %s, '', 'created', %s, 0, %s, %s, 0, %s, %s, 0, 0, 0, 0, '{}', '', '', now()) RETURNING id",
    "hold": "UPDATE coupons_coupon SET status = 'locked', order_id = %s, locked_at = now() WHERE id = %s",
    "number": "UPDATE orders_order SET order_no = %s, expires_at = now() + interval '15 minutes' WHERE id = %s",
    "fulfilment": "INSERT INTO orders_fulfilment (order_id, kind, status, pickup_code, recipient, recipient_phone, region, address, carrier, tracking_no, ship_from_id) VALUES (%s, 'pickup', 'waiting', %s, '', '', '', '', '', '', %s)",
    "stock_lock": "SELECT id, on_hand - reserved FROM mall_stock WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
    "reserve": "UPDATE mall_stock SET reserved = reserved + r.q FROM unnest(%s::bigint[], %s::int[]) AS r(id, q) WHERE mall_stock.id = r.id",
    "reservations": "INSERT INTO mall_reservation (order_id, stock_id, quantity, released, handed_over, created_at) SELECT %s, r.id, r.q, 0, 0, now() FROM unnest(%s::bigint[], %s::int[]) AS r(id, q)",
    "prepay": "UPDATE orders_order SET prepay_id = %s, payment_channel = 'miniprogram' WHERE id = %s AND prepay_id = ''",
    "pay_lock": "SELECT id, status, payable FROM orders_order WHERE order_no = %s FOR UPDATE",
    "paid_before": "SELECT 1 FROM orders_payment WHERE transaction_id = %s",
    "held": "SELECT id FROM coupons_coupon WHERE order_id = %s AND status = 'locked' ORDER BY id FOR UPDATE",
    "use": "UPDATE coupons_coupon SET status = 'used', used_at = now(), used_store_id = %s, discount = %s WHERE id = %s",
    "first": "SELECT EXISTS (SELECT 1 FROM orders_order WHERE member_id = %s AND paid_at IS NOT NULL AND id <> %s AND status <> 'refunded')",
    "paid": "UPDATE orders_order SET status = 'paid', paid_amount = payable, paid_at = now(), points_earned = %s, growth_earned = %s, expires_at = NULL WHERE id = %s",
    "hand_over": "UPDATE orders_fulfilment SET status = 'to_hand_over' WHERE order_id = %s AND status = 'waiting'",
}


def _sql_order(store_id, accounts, skus, conn, numbered) -> int:
    """Place (one transaction), ask for the prepay, pay (another): as Huiji's two requests."""
    from decimal import Decimal

    n, (member_id, coupon, _token) = numbered
    lines = list(zip(skus, QUANTITIES, strict=False))
    wanted = [sku for sku, _q in lines]
    with conn.transaction():
        conn.execute(SQL["idem"], (f"member:{member_id}", uuid.uuid4().hex))
        left = {
            sku: (stock, n) for sku, stock, n in conn.execute(MALL_SQL["left"], (store_id, wanted))
        }
        assert all(left[sku][1] >= q for sku, q in lines)
        tier = conn.execute(MALL_SQL["tier"], (member_id,)).fetchone()
        prices = {
            sku: member_price or price
            for sku, price, member_price, *_ in conn.execute(
                SQL["products"], (tier and tier[0], wanted)
            )
        }
        subtotal = sum(prices[sku] * q for sku, q in lines)
        coupon_id, _threshold, off = conn.execute(
            MALL_SQL["coupon"], (coupon, member_id)
        ).fetchone()
        balance = conn.execute(SQL["balance"], (member_id,)).fetchone()[0]
        points = min(500, balance)
        deduction = Decimal(points) / 100
        payable = subtotal - off - deduction
        order_id = conn.execute(
            MALL_SQL["order"], (store_id, member_id, subtotal, off, deduction, payable, points)
        ).fetchone()[0]
        sql_lines(conn, order_id, lines, prices)
        conn.execute(MALL_SQL["hold"], (order_id, coupon_id))
        last = conn.execute(SQL["counter"], (store_id,)).fetchone()[0]
        order_no = f"{STORE}-{last:06d}-{n}"
        sql_points_spend(conn, accounts, member_id, points, order_id, order_no)
        conn.execute(MALL_SQL["number"], (order_no, order_id))
        conn.execute(
            MALL_SQL["fulfilment"], (order_id, f"{secrets.randbelow(10**8):08d}", store_id)
        )
        stock_ids = [left[sku][0] for sku in wanted]
        quantities = [q for _sku, q in lines]
        locked = dict(conn.execute(MALL_SQL["stock_lock"], (stock_ids,)).fetchall())
        assert all(locked[stock] >= q for stock, q in zip(stock_ids, quantities, strict=True))
        conn.execute(MALL_SQL["reserve"], (stock_ids, quantities))
        conn.execute(MALL_SQL["reservations"], (order_id, stock_ids, quantities))
    with conn.transaction():
        conn.execute(MALL_SQL["prepay"], (f"sandbox-{order_no}", order_id))
    with conn.transaction():
        transaction_id = f"sql-{order_id}"
        order_id, _status, payable = conn.execute(MALL_SQL["pay_lock"], (order_no,)).fetchone()
        assert conn.execute(MALL_SQL["paid_before"], (transaction_id,)).fetchone() is None
        for (held,) in conn.execute(MALL_SQL["held"], (order_id,)).fetchall():
            conn.execute(MALL_SQL["use"], (store_id, off, held))
        conn.execute(MALL_SQL["first"], (member_id, order_id))
        earned = int(payable)
        sql_earn(conn, accounts, member_id, order_id, order_no, earned)
        conn.execute(SQL["payment"], (order_id, payable, "mall", transaction_id))
        conn.execute(MALL_SQL["paid"], (earned, earned, order_id))
        conn.execute(MALL_SQL["hand_over"], (order_id,))
    return 200


def sql_worker(url, store_id, accounts, skus, shares, start, queue):
    load(
        sql_connections(url, len(shares)),
        functools.partial(_sql_order, store_id, accounts, skus),
        shares,
        None,
        start,
        queue,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, help="granian workers (default: as deployed)")
    parser.add_argument("--processes", type=int, default=4, help="load processes")
    args = parser.parse_args()
    threads = max(args.concurrency // args.processes, 1)
    with fresh_database() as url:
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:  # Django set up in a child, so this process stays clean
            made = pool.apply(setup, (url, args.orders * 3))
        plan, skus = made["plan"], made["skus"]
        peak_plan, paced_plan, sql_plan = (
            plan[: args.orders],
            plan[args.orders : 2 * args.orders],
            plan[2 * args.orders :],
        )

        def orders(part):
            return [(token, order_body(coupon, skus)) for _m, coupon, token in part]

        # the orders' events go on a broker's queue, as in production (no worker takes them)
        env = deployed_env(url, THROTTLE_USER="1000000/min", CELERY_BROKER_URL=BROKER)
        with serve(env, "app", args.workers) as port:
            peak, paced = http_phases(
                http_worker,
                (port,),
                orders(paced_plan[:50]),
                orders(peak_plan),
                orders(paced_plan[50:]),
                processes=args.processes,
                threads=threads,
                ok=200,
            )
        baseline = sql_phase(
            sql_worker,
            (url, made["store"], ledger_accounts(url, made["store"]), skus),
            list(enumerate(sql_plan)),
            processes=args.processes,
            threads=threads,
            ok=200,
        )
        checks = subprocess.run(
            [sys.executable, "-m", "bench.mall_checkout_checks"],
            env={**env, "BENCH_SKUS": json.dumps(skus)},
            input=json.dumps([c for _m, c, _t in peak_plan + paced_plan]),
            capture_output=True,
            text=True,
            check=True,
        )
        facts = json.loads(checks.stdout.strip().splitlines()[-1])
    redis_empty(BROKER)
    ratio = peak["rate"] / baseline["rate"]
    queries = facts["queries"]
    print(
        f"{args.orders:,} mall orders placed and paid (3 SKUs for pickup, coupon, 500 points), {args.processes}×{threads} connections, granian as config/granian_app.py{f' with {args.workers} workers' if args.workers else ''}"
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
        f"  ratio {ratio:.2f}; queries per order placed and paid: {queries['1']} with 1 line, {queries['3']} with 3, {queries['10']} with 10; oversell: {facts['oversell']}; ledger problems: {facts['ledger_problems'] or 'none'}; coupons used once: {facts['coupons_used_once']}; duplicate orders: {facts['duplicates']}"
    )
    print(
        "RESULT "
        + json.dumps(
            {
                "bench": "mall_checkout",
                "huiji_rate": round(peak["rate"], 1),
                "baseline_rate": round(baseline["rate"], 1),
                "ratio": round(ratio, 2),
                "p50_ms": round(peak["p50_ms"], 1),
                "p99_ms": round(peak["p99_ms"], 1),
                "p99_ms_at_70pct": round(paced["p99_ms"], 1),
                "errors": peak["errors"] + paced["errors"],
                "oversell": facts["oversell"],
                "queries_per_request": queries["3"],
                "queries_per_request_1_line": queries["1"],
                "queries_per_request_10_lines": queries["10"],
                "ledger_ok": not facts["ledger_problems"],
                "coupons_used_once": facts["coupons_used_once"],
                "duplicates": facts["duplicates"],
            }
        )
    )


if __name__ == "__main__":
    main()
