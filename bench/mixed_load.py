# ruff: noqa: E501  (the figures read better unbroken)
"""A flash coupon drop while the tills sell: what a Saturday's drop costs the checkout. Both
pools as deployed on one machine (the tills' gunicorn, `config/gunicorn_pos.py`; the app
pool's granian, `config/granian_app.py`), a Celery worker handling the sales' events as they
come, PostgreSQL and Redis.

    python -m bench.mixed_load --orders 1800 --claims 20000 --stock 5000 [--stores 6] [--app-idle]

The tills sell at the demo's stores in turn, a brand's sales being spread over its stores.
First the tills alone: flat out (their solo peak), then paced at 70% of it (their solo
p99). Then the same pace again while members claim one limited template flat out through
the app pool, the tills and the phones let go together once both are set up. Prints the
tills' rate, p99 and share of orders accepted, solo and during the drop, the drop's claims
per second, the events the worker still had to handle when the drop ended and how long it
took, and checks oversell, members with two coupons and verify_ledger. The aims (issue
24): during the drop, till p99 under 100 ms and at least 90% of the till orders accepted
at the solo pace.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import time

import psycopg

from bench._db import BROKER, deployed_env, fresh_database, redis_empty
from bench._http import cpu_idle_join, serve, worker_running
from bench._load import rate_and_latency
from bench.coupon_claim import MEMBERS_SQL, LoadProcesses, phase, split
from bench.coupon_claim import http_worker as claim_worker
from bench.pos_checkout import http_worker as till_worker
from bench.pos_checkout import order_body, setup
from config.priority import cpu_priority_change

CLAIMERS_FROM = 1_000_001  # the drop's members' ids, clear of the demo's and the tills'


def phone_worker(idle, *args):
    """A load process standing for members' phones, which are not on this machine: in a
    session of its own at the lowest CPU priority (with `idle`, in the app pool's idle CPU
    group), so that sending the drop's requests does not take the cores the server's pools
    share."""
    os.setsid()
    cpu_priority_change(19)
    if idle:
        cpu_idle_join(os.getpid())
    claim_worker(*args)


def tills_ready(port, sales, *, processes, threads, pace=None) -> LoadProcesses:
    """The tills' orders ((store's POS key, body) each) from `processes`×`threads`
    connections, set up and waiting to go: flat out, or with `pace` (seconds between one
    connection's orders) each on its own staggered schedule."""
    connections = processes * threads

    def schedule(n):
        if pace is None:
            return None
        return pace, [pace * (t * processes + n) / connections for t in range(threads)]

    return LoadProcesses(
        till_worker,
        lambda n: (port, split(sales[n::processes], threads), schedule(n)),
        processes,
    )


def till_phase(port, sales, **tills) -> dict:
    ready = tills_ready(port, sales, **tills)
    started = ready.go()
    return rate_and_latency(ready.results(), started)


def events_caught_up(watch, most: float = 300.0) -> tuple[int, float, int]:
    """The events the worker had still to handle when the drop ended, the seconds it took
    to handle them (`most` at most), and how many were still waiting then."""
    pending = "SELECT count(*) FROM core_event WHERE status = 'pending'"
    backlog = left = watch.execute(pending).fetchone()[0]
    started = time.monotonic()
    while left and time.monotonic() - started < most:
        time.sleep(0.1)
        left = watch.execute(pending).fetchone()[0]
    return backlog, time.monotonic() - started, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1800, help="till orders a phase")
    parser.add_argument("--claims", type=int, default=20_000, help="claim attempts in the drop")
    parser.add_argument("--stock", type=int, default=5_000, help="the drop's template's stock")
    parser.add_argument("--tills", type=int, default=8, help="till connections")
    parser.add_argument("--claimers", type=int, default=16, help="claiming connections")
    parser.add_argument(
        "--stores",
        type=int,
        default=6,
        help="demo stores the tills are at, orders dealt out in turn (1: all at S001)",
    )
    parser.add_argument(
        "--app-idle",
        action="store_true",
        help="the app pool and the worker (and the phones) in an idle CPU group, as systemd's CPUWeight=idle",
    )
    args = parser.parse_args()
    processes = 2 if args.tills >= 2 else 1
    with fresh_database() as url:
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:  # Django set up in a child, so this process stays clean
            made = pool.apply(setup, (url, args.orders * 4, False, args.stores))
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in filter(str.strip, MEMBERS_SQL.split(";\n")):
                conn.execute(
                    statement,
                    {
                        "first": CLAIMERS_FROM,
                        "members": args.claims,
                        "stock": args.stock,
                        "templates": 1,
                    },
                )
            template = conn.execute(
                "SELECT max(id) FROM coupons_coupontemplate WHERE claimable"
            ).fetchone()[0]
        keys = made["keys"]
        bodies = [
            (keys[n % len(keys)], order_body(code, coupon, n))
            for n, (_m, coupon, code) in enumerate(made["plan"])
        ]
        warm, peak_bodies, solo_bodies, mixed_bodies = split(bodies, 4)
        env = deployed_env(
            url,
            THROTTLE_POS="1000000/min",
            THROTTLE_USER="1000000/min",
            THROTTLE_COUPON_CLAIM="1000000/min",
            CELERY_BROKER_URL=BROKER,
        )
        threads = max(args.tills // processes, 1)
        claim = f"/api/v1/coupons/{template}/claim"
        claims = [("POST", claim, f"bench-token-{CLAIMERS_FROM + n}") for n in range(args.claims)]
        with (
            serve(env, "pos") as till_port,
            serve(env, "app", idle=args.app_idle) as app_port,
            worker_running(env, idle=args.app_idle),
            contextlib.closing(psycopg.connect(url, autocommit=True)) as watch,
        ):
            tills = {"processes": processes, "threads": threads}
            till_phase(till_port, warm, **tills)
            peak = till_phase(till_port, peak_bodies, **tills)
            pace = processes * threads / (0.7 * peak["rate"])
            solo = till_phase(till_port, solo_bodies, pace=pace, **tills)
            # Both set up before either goes: the phones are not on this machine, and
            # starting their processes took the cores from the tills' first seconds.
            phones = LoadProcesses(
                phone_worker,
                lambda n: (
                    args.app_idle,
                    app_port,
                    split(claims[n::4], max(args.claimers // 4, 1)),
                ),
                4,
            )
            busy = tills_ready(till_port, mixed_bodies, pace=pace, **tills)
            dropped = phones.go()
            started = busy.go()
            mixed = rate_and_latency(busy.results(), started)
            drop = phase(phones.results(), dropped)
            backlog, catch_up, left = events_caught_up(watch)
        checks = subprocess.run(
            [sys.executable, "-m", "bench.pos_checkout_checks"],
            env=env,
            input=json.dumps([c for _m, c, _code in made["plan"]]),
            capture_output=True,
            text=True,
            check=True,
        )
        facts = json.loads(checks.stdout.strip().splitlines()[-1])
        with psycopg.connect(url) as conn:
            issued, coupons = conn.execute(
                "SELECT t.issued, (SELECT count(*) FROM coupons_coupon c WHERE c.template_id = t.id) FROM coupons_coupontemplate t WHERE t.id = %s",
                (template,),
            ).fetchone()
            doubles = conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM coupons_coupon WHERE template_id = %s GROUP BY member_id HAVING count(*) > 1) x",
                (template,),
            ).fetchone()[0]
    redis_empty(BROKER)
    oversell = max(coupons - args.stock, 0) + max(issued - args.stock, 0)
    accepted = len(mixed_bodies) - mixed["errors"]
    share = accepted / len(mixed_bodies)
    kept_pace = mixed["rate"] / solo["rate"] if solo["rate"] else 0.0
    print(
        f"tills: {processes}×{threads} connections to gunicorn (config/gunicorn_pos.py) selling at {len(keys)} store{'s' if len(keys) > 1 else ''}, {len(peak_bodies)} orders a phase; drop: {args.claims:,} claims on a stock of {args.stock:,} from {args.claimers} connections to granian (config/granian_app.py){', in an idle CPU group' if args.app_idle else ''}"
    )
    print(
        f"  tills alone, flat out  {peak['rate']:6.1f} orders/s  p50 {peak['p50_ms']:.1f} ms  p99 {peak['p99_ms']:.1f} ms  errors {peak['errors']}"
    )
    print(
        f"  tills alone, at 70%    {solo['rate']:6.1f} orders/s  p50 {solo['p50_ms']:.1f} ms  p99 {solo['p99_ms']:.1f} ms  errors {solo['errors']}"
    )
    print(
        f"  tills during the drop  {mixed['rate']:6.1f} orders/s  p50 {mixed['p50_ms']:.1f} ms  p99 {mixed['p99_ms']:.1f} ms  accepted {accepted}/{len(mixed_bodies)} ({share:.0%}), pace kept {kept_pace:.0%}"
    )
    print(
        f"  the drop               {drop['ok'] / drop['ok_seconds'] if drop['ok_seconds'] else 0:6.0f} claims/s  p99 {sorted(drop['latencies'])[int(len(drop['latencies']) * 0.99) - 1]:.1f} ms  ok {drop['ok']}  sold out {drop['sold_out']}  errors {drop['errors']}"
    )
    print(
        f"  the worker             {backlog} events waiting when the drop ended, "
        + (f"{left} still waiting" if left else "all handled")
        + f" {catch_up:.1f} s later"
    )
    print(
        f"  oversell {oversell}; members with two {doubles}; ledger problems: {facts['ledger_problems'] or 'none'}; coupons used once: {facts['coupons_used_once']}; duplicate orders: {facts['duplicates']}"
    )
    print(
        "RESULT "
        + json.dumps(
            {
                "bench": "mixed_load",
                "till_peak_rate": round(peak["rate"], 1),
                "till_solo_rate": round(solo["rate"], 1),
                "till_solo_p99_ms": round(solo["p99_ms"], 1),
                "till_rate_during_drop": round(mixed["rate"], 1),
                "till_p99_ms_during_drop": round(mixed["p99_ms"], 1),
                "till_accepted_share": round(share, 3),
                "events_backlog": backlog,
                "events_caught_up_s": round(catch_up, 1),
                "events_left": left,
                "app_idle": args.app_idle,
                "claims_ok": drop["ok"],
                "claim_errors": drop["errors"],
                "oversell": oversell,
                "doubles": doubles,
                "ledger_ok": not facts["ledger_problems"],
            }
        )
    )


if __name__ == "__main__":
    main()
