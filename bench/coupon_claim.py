# ruff: noqa: E501  (SQL reads better unbroken)
"""A flash coupon drop: many members claim one limited template at the same moment, over
HTTP through the app pool as deployed (granian, production settings, PostgreSQL), then the
same claim statements in hand-written SQL with psycopg at the same concurrency, on the
same database.

    python -m bench.coupon_claim --attempts 4000 --stock 2500 --rounds 6 --concurrency 16

Each round is a drop on a fresh template through Huiji, then one through the baseline, so
that a slow moment of a shared machine falls on both sides alike; the rates are over all
rounds. Every attempt is a different member (each may claim one). Prints successful claims
per second, sold-out answers per second, p50/p99 latency, oversell (must be 0), and a
trivial authenticated endpoint's rate beside the sold-out rate (me/code: since each call
makes a new single-use code, it writes one row; before, it wrote nothing).
"""

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import threading
import time

import psycopg

from apps.core.codes import minute_prefixed_code
from bench._db import deployed_env, fresh_database
from bench._http import Connection, serve

MEMBERS_SQL = """
INSERT INTO members_member (id, created_at, updated_at, phone, name, gender, source, status, joined_at,
                            marketing_consent, consent_channel, referral_code)
SELECT g, now(), now(), (15000000000 + g)::text, '会员' || g, '', 'miniprogram', 'active', now(),
       false, '', 'B' || lpad(to_hex(g), 11, '0')
FROM generate_series(%(first)s, %(first)s + %(members)s - 1) g;
INSERT INTO members_membertoken (member_id, key_hash, created_at, expires_at)
SELECT g, encode(sha256(('bench-token-' || g)::bytea), 'hex'), now(), now() + interval '30 days'
FROM generate_series(%(first)s, %(first)s + %(members)s - 1) g;
INSERT INTO coupons_coupontemplate (created_at, updated_at, name, kind, active, description, amount, valid_days,
    claimable, total_stock, issued, per_member_limit, new_members_only, channels, include_skus, include_categories,
    exclude_skus, exclude_categories, stackable, cost_bearer, auto_issue, gift_sku)
SELECT now(), now(), '限量闪券 ' || g, 'cash', true, '', 10, 7, true, %(stock)s, 0, 1, false, '', '', '', '', '', false, 'hq', '', ''
FROM generate_series(1, %(templates)s) g;
ANALYZE;
"""

# The claim as hand-written SQL: the template, the member's claims so far, then one short
# transaction that inserts the coupon and takes the stock last.
TEMPLATE_SQL = "SELECT id, total_stock, issued, per_member_limit, valid_days FROM coupons_coupontemplate WHERE id = %s AND active"
CLAIMED_SQL = "SELECT count(*) FROM coupons_coupon WHERE member_id = %s AND template_id = %s AND source IN ('claim', 'exchange')"
INSERT_SQL = """INSERT INTO coupons_coupon (template_id, member_id, issued_to_id, code, status, source, claim_slot, cause_kind, issued_at, valid_from, valid_until, receipt)
VALUES (%s, %s, %s, %s, 'available', 'claim', %s, '', now(), now(), now() + interval '7 days', '')"""
STOCK_SQL = "UPDATE coupons_coupontemplate SET issued = issued + 1 WHERE id = %s AND issued + 1 <= total_stock"


WARM_UP = 400  # claims a side before the first round, on a template of their own


def http_worker(port, requests, start, queue):
    """One load process: threads with keep-alive connections, each sending its share."""
    results, lock = [], threading.Lock()

    def run(share):
        conn = Connection(port)
        for method, path, token in share:
            started = time.perf_counter()
            status, body = conn.request(method, path, {"Authorization": f"Bearer {token}"})
            code = json.loads(body).get("code", "") if status >= 400 else ""
            with lock:
                results.append((time.perf_counter(), time.perf_counter() - started, status, code))
        conn.close()

    threads = [threading.Thread(target=run, args=(share,)) for share in requests]
    released(start)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def sql_worker(url, template_id, shares, start, queue):
    results, lock = [], threading.Lock()

    def run(conn, member_ids):
        with conn:
            for member_id in member_ids:
                started = time.perf_counter()
                status = _sql_claim(conn, template_id, member_id)
                with lock:
                    results.append((time.perf_counter(), time.perf_counter() - started, status, ""))

    threads = [
        threading.Thread(target=run, args=(psycopg.connect(url, autocommit=True), share))
        for share in shares
    ]
    released(start)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def _sql_claim(conn, template_id, member_id) -> int:
    _id, total, issued, limit, _days = conn.execute(TEMPLATE_SQL, (template_id,)).fetchone()
    if issued >= total:
        return 409
    taken = conn.execute(CLAIMED_SQL, (member_id, template_id)).fetchone()[0]
    if taken >= limit:
        return 409
    try:
        with conn.transaction():
            conn.execute(
                INSERT_SQL,
                (template_id, member_id, member_id, minute_prefixed_code(16), taken + 1),
            )
            if conn.execute(STOCK_SQL, (template_id,)).rowcount == 0:
                raise SoldOut()
    except SoldOut:
        return 409
    return 201


class SoldOut(Exception):
    pass


class LoadProcesses:
    """`target(*args_for(n), start, queue)` in `processes` load processes, each set up
    (imports, connections) and waiting in released(start) once this returns, so that no
    clock counts starting processes and nothing starting takes a core from a measurement."""

    def __init__(self, target, args_for, processes: int):
        context = multiprocessing.get_context("spawn")
        self._queue, ready, self._go = context.Queue(), context.Queue(), context.Event()
        self._workers = [
            context.Process(target=target, args=(*args_for(n), (ready, self._go), self._queue))
            for n in range(processes)
        ]
        for worker in self._workers:
            worker.start()
        for _ in self._workers:
            ready.get()

    def go(self) -> float:
        """Let them all go together; the moment they were let go."""
        started = time.perf_counter()
        self._go.set()
        return started

    def results(self) -> list:
        """The rows they put on the queue, once all have finished."""
        rows = [row for _ in self._workers for row in self._queue.get()]
        for worker in self._workers:
            worker.join()
        return rows


def fan_out(target, args_for, processes: int) -> tuple[list, float]:
    """Run `target` in `processes` load processes (LoadProcesses), let go together once all
    are ready. Returns the rows they put on the queue and the moment they were let go."""
    ready = LoadProcesses(target, args_for, processes)
    started = ready.go()
    return ready.results(), started


def released(start) -> None:
    """In a load process: say it is ready, then wait until all are."""
    ready, go = start
    ready.put(True)
    go.wait()


def split(items, parts):
    return [items[n::parts] for n in range(parts)]


def phase(results, started) -> dict:
    """One side's drop in one round: how each attempt was answered, and in what time."""
    ok = sorted(r[0] for r in results if r[2] == 201)
    sold_out = sorted(r[0] for r in results if r[3] == "sold_out" or (r[2] == 409 and not r[3]))
    return {
        "ok": len(ok),
        "sold_out": len(sold_out),
        "errors": len(results) - len(ok) - len(sold_out),
        "ok_seconds": ok[-1] - started if ok else 0.0,
        "sold_out_seconds": sold_out[-1] - sold_out[0] if len(sold_out) > 1 else 0.0,
        "latencies": [r[1] * 1000 for r in results],
    }


def summary(phases: list[dict]) -> dict:
    """One side over all its rounds: the rates are answers over the rounds' summed times."""

    def total(key):
        return sum(p[key] for p in phases)

    latencies = sorted(ms for p in phases for ms in p["latencies"])
    return {
        "ok": total("ok"),
        "sold_out": total("sold_out"),
        "errors": total("errors"),
        "ok_rate": rate(total("ok"), total("ok_seconds")),
        "sold_out_rate": rate(total("sold_out"), total("sold_out_seconds")),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
    }


def rate(count, seconds) -> float:
    return count / seconds if seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=4_000, help="claims a round, each side")
    parser.add_argument("--stock", type=int, default=2_500, help="the template's stock a round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, help="server processes (default: as deployed)")
    parser.add_argument("--processes", type=int, default=4, help="load processes")
    args = parser.parse_args()
    threads = max(args.concurrency // args.processes, 1)
    attempts = WARM_UP + args.attempts * args.rounds  # each side's; one member each

    def fire(target, calls, *before):
        return fan_out(
            target, lambda n: (*before, split(calls[n :: args.processes], threads)), args.processes
        )

    print(
        f"{args.rounds} rounds of {args.attempts:,} claims on a stock of {args.stock:,} a side, {args.processes}×{threads} connections, granian as config/granian_app.py{f' with {args.workers} processes' if args.workers else ''}"
    )
    with fresh_database() as url:
        env = deployed_env(url, THROTTLE_USER="1000000/min", THROTTLE_COUPON_CLAIM="1000000/min")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in filter(str.strip, MEMBERS_SQL.split(";\n")):
                conn.execute(
                    statement,
                    {
                        "first": 1,
                        "members": 2 * attempts,
                        "stock": args.stock,
                        "templates": 2 * args.rounds + 2,
                    },
                )
            templates = [
                row[0] for row in conn.execute("SELECT id FROM coupons_coupontemplate ORDER BY id")
            ]
        huiji_templates, sql_templates = templates[::2], templates[1::2]  # the first pair: warm-up
        tokens = [f"bench-token-{n}" for n in range(1, attempts + 1)]
        sql_members = list(range(attempts + 1, 2 * attempts + 1))
        huiji, baseline, trivial_calls, trivial_seconds = [], [], 0, 0.0
        with serve(env, "app", args.workers) as port:
            # Warm up: every worker process opens its connections, runs the claim's code and
            # prepares its statements; the database reads the tables in.
            warm = f"/api/v1/coupons/{huiji_templates[0]}/claim"
            fire(http_worker, [("POST", warm, t) for t in tokens[:WARM_UP]], port)
            fire(sql_worker, sql_members[:WARM_UP], url, sql_templates[0])
            for n in range(1, args.rounds + 1):
                mine = slice(WARM_UP + (n - 1) * args.attempts, WARM_UP + n * args.attempts)
                claim = f"/api/v1/coupons/{huiji_templates[n]}/claim"
                huiji.append(
                    phase(*fire(http_worker, [("POST", claim, t) for t in tokens[mine]], port))
                )
                calls = [("GET", "/api/v1/me/code", t) for t in tokens[mine]]
                answers, started = fire(http_worker, calls, port)
                trivial_calls += len(answers)
                trivial_seconds += max(r[0] for r in answers) - started
                baseline.append(phase(*fire(sql_worker, sql_members[mine], url, sql_templates[n])))
                h, b = (rate(p[-1]["ok"], p[-1]["ok_seconds"]) for p in (huiji, baseline))
                print(
                    f"  round {n}: Huiji {h:6.0f} claims/s   SQL {b:6.0f} claims/s   ratio {rate(h, b):.2f}"
                )

        with psycopg.connect(url) as conn:
            issued = dict(conn.execute("SELECT id, issued FROM coupons_coupontemplate"))
            coupons = dict(
                conn.execute(
                    "SELECT template_id, count(*) FROM coupons_coupon GROUP BY template_id"
                )
            )
            doubles = conn.execute(
                "SELECT count(*) FROM (SELECT member_id FROM coupons_coupon GROUP BY member_id, template_id HAVING count(*) > 1) x"
            ).fetchone()[0]
            queries = _queries_per_claim(url, env)
    oversell = sum(
        max(coupons.get(t, 0) - args.stock, 0) + max(issued[t] - args.stock, 0)
        for t in huiji_templates[1:]
    )
    short = sum(max(args.stock - coupons.get(t, 0), 0) for t in huiji_templates[1:])
    huiji, baseline = summary(huiji), summary(baseline)
    trivial_rate = rate(trivial_calls, trivial_seconds)
    ratio = rate(huiji["ok_rate"], baseline["ok_rate"])
    print(
        f"  Huiji    {huiji['ok_rate']:8.0f} claims/s  {huiji['sold_out_rate']:8.0f} sold-out answers/s  p50 {huiji['p50_ms']:.1f} ms  p99 {huiji['p99_ms']:.1f} ms  ok {huiji['ok']}  errors {huiji['errors']}"
    )
    print(
        f"  SQL      {baseline['ok_rate']:8.0f} claims/s  {baseline['sold_out_rate']:8.0f} sold-out answers/s  p50 {baseline['p50_ms']:.1f} ms  p99 {baseline['p99_ms']:.1f} ms  ok {baseline['ok']}"
    )
    print(
        f"  trivial authenticated endpoint (me/code, one row written): {trivial_rate:.0f} requests/s"
    )
    print(
        f"  ratio {ratio:.2f}; coupons {huiji['ok']} = stock {args.rounds * args.stock} (short {short}); oversell {oversell}; members with two {doubles}; {queries} queries a claim"
    )
    print(
        "RESULT "
        + json.dumps(
            {
                "bench": "coupon_claim",
                "huiji_rate": round(huiji["ok_rate"], 1),
                "baseline_rate": round(baseline["ok_rate"], 1),
                "ratio": round(ratio, 2),
                "sold_out_rate": round(huiji["sold_out_rate"], 1),
                "trivial_rate": round(trivial_rate, 1),
                "p50_ms": round(huiji["p50_ms"], 1),
                "p99_ms": round(huiji["p99_ms"], 1),
                "errors": huiji["errors"],
                "oversell": oversell,
                "doubles": doubles,
                "queries_per_request": queries,
            }
        )
    )


def _queries_per_claim(url: str, env: dict) -> int:
    """Count one claim's queries in a Django process (the same code the server runs), once
    another member's claim has had the process read the template, as in a drop."""
    script = (
        "import django, json;django.setup();"
        "from django.db import connection;from django.test.utils import CaptureQueriesContext;"
        "from django.test import Client;from apps.coupons.models import CouponTemplate;"
        "t=CouponTemplate.objects.create(name='count',kind='cash',amount=1,valid_days=1,claimable=True,total_stock=10);"
        "Client(HTTP_AUTHORIZATION='Bearer bench-token-2').post(f'/api/v1/coupons/{t.pk}/claim');"
        "c=Client(HTTP_AUTHORIZATION='Bearer bench-token-1');"
        "ctx=CaptureQueriesContext(connection);ctx.__enter__();r=c.post(f'/api/v1/coupons/{t.pk}/claim');ctx.__exit__(None,None,None);"
        "assert r.status_code==201, r.content;print(len(ctx))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "ALLOWED_HOSTS": "testserver"},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
