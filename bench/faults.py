# ruff: noqa: E501  (SQL reads better unbroken)
"""Faults survived: Huiji as deployed on this machine (granian for the app pool, gunicorn for
the POS pool, a Celery worker), on a PostgreSQL cluster and a Redis server of this run's own,
so that stopping them stops nobody else's. The scenarios, one after another:

- worker_kill: each long job in a Celery worker killed (-9, with its children) after its
  first batch committed; a new worker takes the task again once the broker gives it back.
  The nightly points expiry (every due point expires once), an HQ coupon batch to a segment
  (one coupon per member), a member import (each row once, no member twice), the analytics
  rollup (the figures a fresh recomputation gives), a campaign (one grant, coupon, points
  award and message per member), the outbox (every text once: the provider counts them),
  the tier review (each member's change once, one history row, one event); verify_ledger
  passes.
- web_kill: tills post orders with Idempotency-Keys while the POS pool's processes are killed
  (-9) again and again; a till retries a broken connection or a 5xx with the same key, as a
  real POS does, and asks once more after its answer. One order per key, every answer to a
  key the same, none lost that a till was told was accepted.
- redis_stop: a coupon drop and till traffic while Redis (cache and broker) is stopped for a
  while, then started again. Claims answer "try again" meanwhile and are retried; tills keep
  selling. No oversell, no member with two coupons, no lost order.
- postgres_restart: till traffic while PostgreSQL restarts. Requests in flight get a 503 and
  are retried; the pools reconnect by themselves.
- provider: the SMS provider (a local stand-in for Tencent Cloud SMS) stalls, then answers
  500, then recovers. Sign-in codes asked meanwhile are answered 503 sms_unavailable within
  SMS_TIMEOUT_SECONDS and keep nothing; tills keep selling; the outbox's run ends after a few
  failures instead of one timeout per message, and once the provider is back every message
  goes once.

    python -m bench.faults            # seconds per fault as below
    python -m bench.faults --short    # a few seconds per fault
    python -m bench.faults --only web_kill,redis_stop

For each scenario: attempted, accepted, lost, doubled, oversold, seconds to recover (from the
end of the fault to the first success after it), ledger_ok; then one RESULT line.
"""

import argparse
import contextlib
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

import bench._db as bench_db
from bench._http import Connection, celery_worker, free_port, serve
from bench.coupon_claim import MEMBERS_SQL

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = ("worker_kill", "web_kill", "redis_stop", "postgres_restart", "provider")
LINES = [{"sku": "SKU0001", "quantity": 1, "unit_price": "99.00"}]
DROP_MEMBERS_FROM = 100_001  # the drop's members, past the demo brand's


class Postgres:
    """A PostgreSQL cluster in a temporary directory, on a free port, run as the `postgres`
    user when this is root (initdb refuses root)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        self.bin = os.environ.get("PG_BIN") or (found[-1] if found else "")
        self.dir = tempfile.mkdtemp(prefix="huiji-faults-pg-")
        self.port = free_port()
        self.user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if self.user:
            shutil.chown(self.dir, "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args) -> None:
        subprocess.run(
            [*self.user, f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        if not os.path.exists(f"{self.dir}/data"):
            subprocess.run(
                [
                    *self.user,
                    f"{self.bin}/initdb",
                    "-D",
                    f"{self.dir}/data",
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._ctl("-o", options, "-l", f"{self.dir}/log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A redis-server of this run's own, on a free port, keeping nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                redis.Redis(port=self.port).ping()
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def run_env(url: str, redis_: Redis, **settings: str) -> dict:
    return bench_db.deployed_env(
        url,
        REDIS_URL=redis_.url(0),
        CELERY_BROKER_URL=redis_.url(1),
        THROTTLE_POS="1000000/min",
        THROTTLE_USER="1000000/min",
        THROTTLE_COUPON_CLAIM="1000000/min",
        LOG_LEVEL="CRITICAL",
        **settings,
    )


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )


def new_database(server: str, template: str = "") -> str:
    name = f"huiji_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return server.rsplit("/", 1)[0] + f"/{name}"


def brand(server: str, redis_: Redis, members: int) -> tuple[str, str]:
    """A migrated database with the demo brand, a till's key, and `members` drop members with
    tokens; its URL and the till's key."""
    url = new_database(server)
    env = run_env(url, redis_, DEMO_DATA_ALLOWED="true")
    for args in (("migrate", "-v0"), ("seed_demo", "--members", "20")):
        done = manage(env, *args)
        if done.returncode:
            raise RuntimeError(done.stderr)
    key = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django;django.setup();from apps.stores.models import Store;"
            "from apps.stores.services import pos_key_create;"
            "print(pos_key_create(store=Store.objects.get(code='S001'), name='faults')[1])",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in filter(str.strip, MEMBERS_SQL.split(";\n")):
            conn.execute(
                statement,
                {"first": DROP_MEMBERS_FROM, "members": members, "stock": 0, "templates": 0},
            )
    return url, key


# ---- the load: tills and members that retry as real clients do -------------------------


class Threads:
    """Load threads (`self.workers`) started for the length of a `with` block; told to stop
    (`self.stopping`) at its end, then waited for."""

    stopping = None

    def __enter__(self):
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc):
        if self.stopping is not None:
            self.stopping.set()
        for worker in self.workers:
            worker.join()


class Tills(Threads):
    """Threads posting anonymous till orders, one Idempotency-Key each, until stopped. A
    broken connection, a 5xx or a 429 is retried with the same key and body; once answered
    201, the key is asked once more and the answers compared."""

    def __init__(self, port: int, key: str, threads: int = 4):
        self.port, self.key, self.threads = port, key, threads
        self.accepted: dict[str, dict] = {}  # key → first 201 body
        self.keys: list[str] = []
        self.mismatched, self.failures = 0, []  # failures: times of a 5xx or a broken connection
        self.successes: list[float] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.workers = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def _post(self, conn, key, body):
        headers = {
            "Authorization": f"Api-Key {self.key}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        try:
            return conn.request("POST", "/api/pos/v1/orders", headers, body)
        except OSError:  # refused, reset, or closed mid-answer: the till does not know
            conn.close()
            return None, b""

    def _run(self, n: int) -> None:
        conn = Connection(self.port)
        while not self.stopping.is_set():
            key = f"T{n}-{uuid.uuid4().hex[:12]}"
            body = json.dumps({"external_id": key, "lines": LINES}).encode()
            with self.lock:
                self.keys.append(key)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status, answer = self._post(conn, key, body)
                if status == 201:
                    first = json.loads(answer)
                    again_status, again = self._post(conn, key, body)
                    while again_status != 201 and time.monotonic() < deadline:
                        time.sleep(0.1)
                        again_status, again = self._post(conn, key, body)
                    with self.lock:
                        self.accepted[key] = first
                        self.successes.append(time.monotonic())
                        if again_status == 201 and json.loads(again) != first:
                            self.mismatched += 1
                    break
                if status is not None and status < 500 and status != 429:
                    break  # refused for good: not accepted, nothing to retry
                with self.lock:
                    self.failures.append(time.monotonic())
                time.sleep(0.1)
            time.sleep(0.02)
        conn.close()

    def outcome(self, url: str) -> dict:
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT external_id, count(*), bool_and(status = 'paid') FROM orders_order WHERE external_id = ANY(%s) GROUP BY external_id",
                (self.keys,),
            ).fetchall()
        orders = {key: (count, paid) for key, count, paid in rows}
        return {
            "attempted": len(self.keys),
            "accepted": len(self.accepted),
            "lost": sum(1 for key in self.accepted if key not in orders),
            "doubled": sum(count - 1 for count, _paid in orders.values()) + self.mismatched,
            "half_written": sum(1 for _count, paid in orders.values() if not paid),
            "errors_meanwhile": len(self.failures),
        }

    def recovered_after(self, moment: float) -> float | None:
        with self.lock:
            later = [t for t in self.successes if t >= moment]
        return round(min(later) - moment, 2) if later else None


class Drop(Threads):
    """Members claiming one template, each until answered for good: 201, or a 409 (sold out,
    limit); a broken connection or a 5xx is retried after a moment."""

    def __init__(
        self, port: int, template_id: int, members: list[int], lasting: float, threads: int = 8
    ):
        self.port, self.template_id = port, template_id
        # A member's tap, not a flood: the drop lasts `lasting` seconds, through the fault.
        self.pause = max(lasting * threads / max(len(members), 1), 0.01)
        self.claimed: list[int] = []
        self.attempted = len(members)
        self.retries = 0
        self.answered: list[float] = []  # when each member had their answer
        self.lock = threading.Lock()
        self.workers = [
            threading.Thread(target=self._run, args=(members[n::threads],)) for n in range(threads)
        ]

    def _run(self, members: list[int]) -> None:
        conn = Connection(self.port)
        path = f"/api/v1/coupons/{self.template_id}/claim"
        for member in members:
            headers = {"Authorization": f"Bearer bench-token-{member}"}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    status, _body = conn.request("POST", path, headers)
                except OSError:
                    conn.close()
                    status = None
                if status is not None and status < 500:
                    with self.lock:
                        self.answered.append(time.monotonic())
                        if status == 201:
                            self.claimed.append(member)
                    break
                with self.lock:
                    self.retries += 1
                time.sleep(0.2)
            time.sleep(self.pause)
        conn.close()

    def outcome(self, url: str, stock: int) -> dict:
        with psycopg.connect(url) as conn:
            issued, coupons, members_with_two = conn.execute(
                "SELECT t.issued, (SELECT count(*) FROM coupons_coupon c WHERE c.template_id = t.id), "
                "(SELECT count(*) FROM (SELECT member_id FROM coupons_coupon WHERE template_id = t.id GROUP BY member_id HAVING count(*) > 1) x) "
                "FROM coupons_coupontemplate t WHERE t.id = %s",
                (self.template_id,),
            ).fetchone()
            holders = {
                row[0]
                for row in conn.execute(
                    "SELECT member_id FROM coupons_coupon WHERE template_id = %s",
                    (self.template_id,),
                )
            }
        return {
            "claims_attempted": self.attempted,
            "claims_accepted": len(self.claimed),
            "claims_lost": sum(1 for m in self.claimed if m not in holders),
            "claims_doubled": members_with_two,
            "oversold": max(coupons - stock, 0) + max(issued - stock, 0) + max(coupons - issued, 0),
            "claim_retries": self.retries,
        }

    def recovered_after(self, moment: float) -> float | None:
        with self.lock:
            later = [t for t in self.answered if t >= moment]
        return round(min(later) - moment, 2) if later else None


def latest(*seconds: float | None) -> float | None:
    """When all have recovered; None when one has not."""
    return None if None in seconds else max(seconds)


def ledger_ok(env: dict) -> bool:
    return manage(env, "verify_ledger").returncode == 0


def pool_children(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def serving_pid(port: int) -> int:
    """The pool's master on `port`: the oldest process started with that bind (its workers
    are forks of it, with the same command line)."""
    out = subprocess.run(
        ["pgrep", "-o", "-f", "--", f"--bind 127.0.0.1:{port}"], capture_output=True, text=True
    ).stdout
    return int(out.split()[0])


# ---- the scenarios ----------------------------------------------------------------------


def worker_kill(pg: Postgres, redis_: Redis, seconds: float, members: int) -> dict:
    """Each long job in a Celery worker killed (-9, with its children) after its first batch
    committed; a new worker takes the task again once the broker gives it back (after a
    CELERY_VISIBILITY_TIMEOUT of a few seconds here). The jobs run one after another on one
    database, the worker that finished one being killed in the next: the
    nightly expiry and tier review over `members` generated members, an HQ coupon batch to
    all of them, a member import, the analytics rollup, a campaign and the outbox."""
    from bench.nightly import GENERATE
    from tests.fake_http import Answer, fake_server

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    url = new_database(pg.url)
    texts: list[str] = []  # the numbers the outbox's texts went to, as the provider saw them

    def answer(request):
        body = json.loads(request.body)
        if body["TemplateId"] != OUTBOX_TEMPLATE:
            return Answer(200, SMS_OK)
        texts.append(body["PhoneNumberSet"][0])
        # The worker is killed while the provider has this one: it went, and must not again.
        return Answer(200, SMS_OK, delay=600 if len(texts) == OUTBOX_KILL_AT else 0)

    with fake_server(answer) as sms:
        env = run_env(
            url,
            redis_,
            CELERY_VISIBILITY_TIMEOUT=str(max(int(seconds), 3)),
            MESSAGE_SEND_LEASE_SECONDS="2",
            **sms_settings(sms.url),
        )
        done = manage(env, "migrate", "-v0")
        if done.returncode:
            raise RuntimeError(done.stderr)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in filter(str.strip, GENERATE.split(";\n")):
                conn.execute(statement, {"members": members, "today": today})
            # GENERATE numbers its members itself: the import's come after them.
            conn.execute(
                "SELECT setval(pg_get_serial_sequence('members_member', 'id'), max(id)) FROM members_member"
            )
        done = manage(env, "shell", "-c", JOBS_SETUP)
        if done.returncode:
            raise RuntimeError(done.stderr)
        made = json.loads(done.stdout.strip().splitlines()[-1])
        watch = psycopg.connect(url, autocommit=True)
        workers = Workers(env)
        try:
            results = {
                **expiry_killed(watch, workers, redis_, today),
                **batch_killed(watch, workers, env),
                **import_killed(watch, workers, redis_, made),
                **rollup_killed(watch, workers, redis_, url, made, today),
                **campaign_killed(watch, workers, redis_, made),
                **outbox_killed(watch, workers, redis_, made, texts),
                **tiers_killed(watch, workers, redis_, today),
            }
            time.sleep(1)  # any second run of a job would write now
        finally:
            workers.stop()
        results.update(rollup_rerun_differs=rollup_differs(env, made["rollup_days"]))
        for key, found in doubles(watch, made).items():
            results[key] += found
        watch.close()
    jobs = ("expiry", "batch", "import", "rollup", "campaign", "outbox", "tiers")
    return {
        **results,
        "lost": sum(results[f"{job}_lost"] for job in jobs) + results["rollup_rerun_differs"],
        "doubled": sum(results[f"{job}_doubled"] for job in jobs),
        "oversold": results["batch_oversold"],
        "recover_s": latest(*(results[f"{job}_recover_s"] for job in jobs)),
        "ledger_ok": ledger_ok(env),
    }


class Workers:
    """The run's Celery worker, one at a time (`--concurrency=1`)."""

    def __init__(self, env: dict):
        self.env = env
        self.process = celery_worker(env, concurrency=1)

    def replace(self) -> None:
        """Kill it (-9, with its children), and start another."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = celery_worker(self.env, concurrency=1)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # all is checked in the database
        self.process.wait()


def killed_mid_job(workers: Workers, start, progress, finished, released=None):
    """`start()` a job, kill its worker once `progress()` is true (its first batch
    committed), start another, call `released()` if given, and wait for `finished()`: what
    `progress()` says after the kill, and the seconds from the kill until the job finished
    (None: it did not within five minutes)."""
    start()
    deadline = time.monotonic() + 300
    while not progress() and not finished() and time.monotonic() < deadline:
        time.sleep(0.02)
    workers.replace()
    killed_at, at_kill = time.monotonic(), progress()
    if released is not None:
        released()
    while time.monotonic() < killed_at + 300:
        if finished():
            return at_kill, round(time.monotonic() - killed_at, 2)
        time.sleep(0.2)
    return at_kill, None


def send_task(redis_: Redis, name: str, *args) -> None:
    """Send Huiji's task `name` to the run's broker, on Huiji's queue, as beat or a
    request would."""
    from celery import Celery

    app = Celery(broker=redis_.url(1))
    try:
        app.send_task(name, args=list(args), queue="huiji")
    finally:
        app.close()


def one(watch, sql: str, *args):
    return watch.execute(sql, args).fetchone()[0]


def expiry_killed(watch, workers: Workers, redis_: Redis, today) -> dict:
    """The nightly points expiry: each due point expires once."""
    due_points, due_lots = watch.execute(
        "SELECT coalesce(sum(remaining), 0), count(*) FROM points_lot WHERE status = 'available' AND expires_on < %s",
        (today,),
    ).fetchone()
    print(f"  {due_lots:,} lots with {due_points:,} points past their date")

    def expired():
        count, points = watch.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM points_entry WHERE kind = 'expire'"
        ).fetchone()
        return count, int(points)

    at_kill, recovered = killed_mid_job(
        workers,
        lambda: send_task(redis_, "apps.points.tasks.points_expire_task"),
        lambda: expired()[0],
        lambda: (
            not one(
                watch,
                "SELECT count(*) FROM points_lot WHERE status = 'available' AND expires_on < %s",
                today,
            )
        ),
    )
    print(f"  expiry: worker killed after {at_kill:,} members' expiry entries")
    entries, points = expired()
    due_points = int(due_points)
    return {
        "attempted": due_lots,
        "accepted_before_kill": at_kill,
        "accepted": entries,
        "expiry_lost": max(due_points - points, 0),
        "expiry_doubled": max(points - due_points, 0),  # members twice: see doubles()
        "expiry_recover_s": recovered,
    }


def batch_killed(watch, workers: Workers, env: dict) -> dict:
    """An HQ coupon batch to a segment of every member: one coupon per member of the
    segment, as many as the batch counts."""
    batch_id = []

    def start():
        started = manage(env, "shell", "-c", BATCH_START)
        if started.returncode:
            raise RuntimeError(started.stderr)
        batch_id.append(int(started.stdout.split()[-1]))

    def state():
        return watch.execute(
            "SELECT status, issued, targeted FROM coupons_issuebatch WHERE id = %s", batch_id
        ).fetchone()

    at_kill, recovered = killed_mid_job(
        workers, start, lambda: state()[1], lambda: state()[0] != "running"
    )
    status, issued, targeted = state()
    print(f"  batch: worker killed after {at_kill:,} of {targeted:,} coupons")
    coupons, members_given = watch.execute(
        "SELECT count(*), count(DISTINCT issued_to_id) FROM coupons_coupon WHERE batch_id = %s",
        batch_id,
    ).fetchone()
    return {
        "batch_status": status,
        "batch_targeted": targeted,
        "batch_issued_before_kill": at_kill,
        "batch_issued": issued,
        "batch_lost": max(targeted - members_given, 0),
        "batch_doubled": coupons - members_given,
        "batch_oversold": abs(coupons - issued),
        "batch_recover_s": recovered,
    }


IMPORT_ROWS = 8000  # four chunks
CAMPAIGN_MEMBERS = 2500  # three chunks
OUTBOX_MESSAGES, OUTBOX_KILL_AT = 1200, 300  # three batches; killed in the first
OUTBOX_TEMPLATE = "FAULTS"
JOBS_SETUP = f"""
import json
from datetime import timedelta
from django.utils import timezone
from apps.analytics.models import DailyStoreRollup
from apps.coupons.models import CouponTemplate
from apps.marketing.audience import campaign_audience
from apps.marketing.models import Campaign, CampaignAction, Message, MessageTemplate
from apps.marketing.outbox import messages_queue
from apps.members.imports import member_import_check, member_import_upload
from apps.members.models import Member
from apps.stores.models import Store

now = timezone.localtime()
shop, mall = (
    Store.objects.create(code=code, name=name, kind="direct", city="杭州", address="文三路")
    for code, name in (("FI", "故障导入店"), ("FC", "故障活动店"))
)
# An import: a tenth of the phones merge into members here, one row in a hundred is broken;
# half the new members joined yesterday, half today (the rollup's two days).
lines = ["手机号,姓名,用户ID,积分,注册时间"]
for n in range({IMPORT_ROWS}):
    phone = str(13000000001 + n if n < {IMPORT_ROWS} // 10 else 15000000000 + n)
    joined = now - timedelta(days=n % 2, minutes=1)
    lines.append(",".join([phone[:7] if n % 100 == 99 else phone, f"导入{{n}}", f"fi-{{n}}",
                           "10" if n % 10 == 0 else "0", joined.strftime("%Y-%m-%d %H:%M:%S")]))
upload = member_import_upload(file_name="faults.csv", content="\\n".join(lines).encode(), platform="youzan", home_store=shop)
checked = member_import_check(import_id=upload.pk).preview
# The rollup's day before, as an earlier run left it: stale.
DailyStoreRollup.objects.create(store=shop, day=now.date() - timedelta(days=1), new_members=1)
# A campaign to a store's members: a coupon, points and a message each.
Member.objects.filter(pk__lte={CAMPAIGN_MEMBERS}).update(home_store=mall)
coupon = CouponTemplate.objects.create(name="故障活动券", kind="cash", amount=5, valid_days=7, claimable=False)
note = MessageTemplate.objects.create(name="故障活动通知", channel="inbox", purpose="transactional", title="活动", body="{{coupon}} 已到账")
campaign = Campaign.objects.create(name="故障活动", trigger="once", starts_at=now - timedelta(hours=1), audience="store", store=mall)
for action in ({{"kind": "coupon", "coupon_template": coupon}}, {{"kind": "points", "amount": 10}}, {{"kind": "message", "message_template": note}}):
    CampaignAction.objects.create(campaign=campaign, **action)
Campaign.objects.filter(pk=campaign.pk).update(status="running")
# Texts in the outbox, due when their turn comes.
text = MessageTemplate.objects.create(name="故障发货通知", channel="sms", purpose="transactional", sms_template_id="{OUTBOX_TEMPLATE}", title="发货", body="您的订单已发货")
ids = list(Member.objects.filter(pk__gt={CAMPAIGN_MEMBERS}).order_by("pk").values_list("pk", flat=True)[:{OUTBOX_MESSAGES}])
messages_queue(template=text, member_ids=ids, cause_kind="faults", cause_id=1)
Message.objects.filter(template=text).update(due_at=now + timedelta(days=1))
print(json.dumps({{
    "import": upload.pk, "import_created": checked["created"], "import_merged": checked["merged"],
    "shop": shop.pk, "rollup_days": [str(now.date() - timedelta(days=n)) for n in (0, 1)],
    "campaign": campaign.pk, "coupon": coupon.pk, "note": note.pk, "audience": campaign_audience(campaign).count(),
    "text": text.pk, "texts": len(ids),
}}))
"""


def import_killed(watch, workers: Workers, redis_: Redis, made: dict) -> dict:
    """A member import: each row once, no member twice."""
    upload = made["import"]
    chunks = "SELECT count(*) FROM members_memberimportchunk WHERE member_import_id = %s"
    # HQ confirms the dry run (member_import_start): running, its task sent below.
    watch.execute("UPDATE members_memberimport SET status = 'running' WHERE id = %s", (upload,))
    at_kill, recovered = killed_mid_job(
        workers,
        lambda: send_task(redis_, "apps.members.tasks.member_import_run_task", upload),
        lambda: one(watch, chunks, upload),
        lambda: (
            one(watch, "SELECT status FROM members_memberimport WHERE id = %s", upload) != "running"
        ),
    )
    created, merged, written = watch.execute(
        "SELECT coalesce(sum(created), 0), coalesce(sum(merged), 0), count(*) FROM members_memberimportchunk WHERE member_import_id = %s",
        (upload,),
    ).fetchone()
    members_made = one(watch, "SELECT count(*) FROM members_member WHERE source = 'import:youzan'")
    print(f"  import: worker killed after {at_kill} of {written} chunks")
    expected = made["import_created"] + made["import_merged"]
    return {
        "import_status": one(
            watch, "SELECT status FROM members_memberimport WHERE id = %s", upload
        ),
        "import_rows": expected,
        "import_chunks_before_kill": at_kill,
        "import_lost": max(expected - created - merged, 0)
        + max(made["import_created"] - members_made, 0),
        "import_doubled": max(created + merged - expected, 0)
        + max(members_made - made["import_created"], 0),
        "import_recover_s": recovered,
    }


def rollup_killed(watch, workers: Workers, redis_: Redis, url: str, made: dict, today) -> dict:
    """The analytics rollup (today, then the day before), its worker killed once today's
    rows are in: a row lock this run holds on the day before's keeps the job there."""
    yesterday = made["rollup_days"][1]
    holder = psycopg.connect(url)
    holder.execute(
        "SELECT 1 FROM analytics_dailystorerollup WHERE store_id = %s AND day = %s FOR UPDATE",
        (made["shop"], yesterday),
    )
    killed = []

    def finished():
        computed = one(
            watch,
            "SELECT computed_at FROM analytics_dailystorerollup WHERE store_id = %s AND day = %s",
            made["shop"],
            yesterday,
        )
        return bool(killed) and computed > killed[0]

    def released():
        killed.append(one(watch, "SELECT now()"))
        holder.rollback()
        holder.close()

    at_kill, recovered = killed_mid_job(
        workers,
        lambda: send_task(redis_, "apps.analytics.tasks.rollups_refresh_task"),
        lambda: one(watch, "SELECT count(*) FROM analytics_dailystorerollup WHERE day = %s", today),
        finished,
        released,
    )
    print(f"  rollup: worker killed with {at_kill} store's day rolled up of two")
    return {"rollup_recover_s": recovered, "rollup_lost": 0, "rollup_doubled": 0}


ROLLUP_RECOMPUTE = """
import sys
from django.db import transaction
from apps.analytics.models import DailyStoreRollup
from apps.analytics.services import FIGURES, rollup_day
from datetime import date

def figures():
    return {(r.store_id, r.day): [getattr(r, f) for f in FIGURES] for r in DailyStoreRollup.objects.filter(day__in=days)}

days = [date.fromisoformat(day) for day in sys.argv[-1].split(",")]
kept = figures()
with transaction.atomic():
    for day in days:
        rollup_day(day)
    fresh = figures()
    transaction.set_rollback(True)
print(sum(kept.get(key) != value for key, value in fresh.items()) + len(set(kept) - set(fresh)))
"""


def rollup_differs(env: dict, days: list[str]) -> int:
    """The rows the rollup left that a fresh recomputation of its days would change."""
    script = ROLLUP_RECOMPUTE.replace("sys.argv[-1]", repr(",".join(days)))
    done = manage(env, "shell", "-c", script)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return int(done.stdout.split()[-1])


def campaign_killed(watch, workers: Workers, redis_: Redis, made: dict) -> dict:
    """A campaign run: each member it reaches gets one grant, one coupon, one points
    award and one message."""
    campaign = made["campaign"]
    grants = "SELECT count(*) FROM marketing_campaigngrant WHERE campaign_id = %s"
    recorded = "SELECT count(*), count(*) FILTER (WHERE \"group\" = 'reached') FROM marketing_campaignmember WHERE campaign_id = %s"

    def finished():
        members_, reached = watch.execute(recorded, (campaign,)).fetchone()
        return members_ == made["audience"] and one(watch, grants, campaign) == 3 * reached

    at_kill, recovered = killed_mid_job(
        workers,
        lambda: send_task(redis_, "apps.marketing.tasks.campaign_run_task", campaign),
        lambda: one(watch, grants, campaign),
        finished,
    )
    members_, reached = watch.execute(recorded, (campaign,)).fetchone()
    given = watch.execute(
        "SELECT a.kind, count(DISTINCT g.member_id) FROM marketing_campaigngrant g JOIN marketing_campaignaction a ON a.id = g.action_id WHERE g.campaign_id = %s GROUP BY a.kind",
        (campaign,),
    ).fetchall()
    print(f"  campaign: worker killed after {at_kill:,} grants; {reached:,} members reached")
    return {
        "campaign_audience": made["audience"],
        "campaign_reached": reached,
        "campaign_grants_before_kill": at_kill,
        "campaign_lost": made["audience"] - members_ + sum(reached - n for _kind, n in given),
        "campaign_doubled": 0,  # see doubles()
        "campaign_recover_s": recovered,
    }


def outbox_killed(watch, workers: Workers, redis_: Redis, made: dict, texts: list) -> dict:
    """The outbox's run, killed while the provider has one of its texts: every text goes
    once. The one in hand went; the others of the dead run's batch go back to the queue
    once the lease (MESSAGE_SEND_LEASE_SECONDS) is over."""
    left = "SELECT count(*) FROM marketing_message WHERE template_id = %s AND status IN ('queued', 'sending')"

    def start():
        watch.execute(
            "UPDATE marketing_message SET due_at = now() WHERE template_id = %s", (made["text"],)
        )
        send_task(redis_, "apps.marketing.tasks.messages_send_task")

    _at_kill, recovered = killed_mid_job(
        workers,
        start,
        lambda: len(texts) >= OUTBOX_KILL_AT,
        lambda: not one(watch, left, made["text"]),
    )
    statuses = dict(
        watch.execute(
            "SELECT status, count(*) FROM marketing_message WHERE template_id = %s GROUP BY status",
            (made["text"],),
        ).fetchall()
    )
    print(
        f"  outbox: worker killed while the provider had text {OUTBOX_KILL_AT} of {made['texts']}; then {statuses}"
    )
    return {
        "outbox_queued": made["texts"],
        "outbox_sent": len(set(texts)),
        "outbox_interrupted": statuses.get("failed", 0),
        "outbox_lost": made["texts"] - len(set(texts)),
        "outbox_doubled": len(texts) - len(set(texts)),
        "outbox_recover_s": recovered,
    }


def tiers_killed(watch, workers: Workers, redis_: Redis, today) -> dict:
    """The tier review: each member due is kept, warned or dropped once, with one history
    row and one event for a change."""
    dropping = one(
        watch,
        "SELECT count(*) FROM tiers_membertier WHERE review_on <= %s AND grace_until <= %s",
        today,
        today,
    )
    changes = "SELECT count(*) FROM tiers_tierchange"
    before = one(watch, changes)
    at_kill, recovered = killed_mid_job(
        workers,
        lambda: send_task(redis_, "apps.tiers.tasks.tiers_review_task"),
        lambda: one(watch, changes) - before,
        lambda: (
            not one(watch, "SELECT count(*) FROM tiers_membertier WHERE review_on <= %s", today)
        ),
    )
    changed = one(watch, "SELECT count(DISTINCT member_id) FROM tiers_tierchange")
    print(f"  tiers: worker killed after {at_kill:,} of {dropping:,} members' downgrades")
    return {
        "tiers_dropping": dropping,
        "tiers_changed_before_kill": at_kill,
        "tiers_changed": changed,
        "tiers_lost": max(dropping - changed, 0),
        "tiers_doubled": 0,  # see doubles()
        "tiers_recover_s": recovered,
    }


DOUBLES = {
    "expiry": "SELECT count(*) FROM (SELECT member_id FROM points_entry WHERE kind = 'expire' GROUP BY member_id HAVING count(*) > 1) x",
    "import": "SELECT (SELECT count(*) - count(DISTINCT phone) FROM members_member) + (SELECT count(*) - count(DISTINCT value) FROM members_memberidentity WHERE kind = 'youzan') + (SELECT count(*) - count(DISTINCT member_id) FROM points_entry WHERE cause_kind = 'import')",
    "campaign": "SELECT (SELECT count(*) - count(DISTINCT (action_id, member_id)) FROM marketing_campaigngrant WHERE campaign_id = %(campaign)s) + (SELECT count(*) - count(DISTINCT issued_to_id) FROM coupons_coupon WHERE template_id = %(coupon)s) + (SELECT count(*) - count(DISTINCT member_id) FROM points_entry WHERE cause_kind = 'campaign') + (SELECT count(*) - count(DISTINCT member_id) FROM marketing_message WHERE template_id = %(note)s)",
    "tiers": "SELECT (SELECT count(*) - count(DISTINCT member_id) FROM tiers_tierchange) + (SELECT count(*) - count(DISTINCT (name, payload->>'member')) FROM core_event WHERE name IN ('tier_changed', 'tier_downgrade_warning'))",
}


def doubles(watch, made: dict) -> dict:
    """What each job did twice, over all it wrote: added to its `_doubled`."""
    return {
        f"{job}_doubled": watch.execute(sql, made if "%(" in sql else None).fetchone()[0]
        for job, sql in DOUBLES.items()
    }


BATCH_START = """
from apps.coupons.batches import issue_batch_start
from apps.coupons.models import CouponTemplate, IssueBatch
from apps.members.models import Segment
template = CouponTemplate.objects.create(name="故障发券", kind="cash", amount=10, valid_days=7, claimable=False)
batch = IssueBatch.objects.create(name="故障发券", template=template, segment=Segment.objects.create(name="故障全部"))
print(issue_batch_start(batch=batch).pk)
"""


def web_kill(pg: Postgres, redis_: Redis, seconds: float, brand_url: str, key: str) -> dict:
    url = new_database(pg.url, brand_url.rsplit("/", 1)[1])
    env = run_env(url, redis_)
    with serve(env, "pos", workers=2) as port:
        master = serving_pid(port)
        with Tills(port, key) as tills:
            time.sleep(min(seconds / 3, 3))
            last_kill, kills, ends = 0.0, 0, time.monotonic() + seconds
            while time.monotonic() < ends:
                for pid in pool_children(master):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                kills += 1
                last_kill = time.monotonic()
                time.sleep(random.uniform(0.5, 1.5))
            time.sleep(min(seconds / 2, 5))
        result = tills.outcome(url)
    print(f"  {kills} times the POS pool's processes were killed")
    return {
        **result,
        "oversold": 0,
        "recover_s": tills.recovered_after(last_kill),
        "ledger_ok": ledger_ok(env),
    }


def redis_stop(
    pg: Postgres, redis_: Redis, seconds: float, brand_url: str, key: str, members: int
) -> dict:
    url = new_database(pg.url, brand_url.rsplit("/", 1)[1])
    env = run_env(url, redis_)
    stock = members // 2
    with psycopg.connect(url, autocommit=True) as conn:
        template_id = conn.execute(
            "INSERT INTO coupons_coupontemplate (created_at, updated_at, name, kind, active, description, amount, valid_days, "
            "claimable, total_stock, issued, per_member_limit, new_members_only, channels, include_skus, include_categories, "
            "exclude_skus, exclude_categories, stackable, cost_bearer, auto_issue, gift_sku) "
            "VALUES (now(), now(), '故障闪券', 'cash', true, '', 10, 7, true, %s, 0, 1, false, '', '', '', '', '', false, 'hq', '', '') RETURNING id",
            (stock,),
        ).fetchone()[0]
    drop_members = list(range(DROP_MEMBERS_FROM, DROP_MEMBERS_FROM + members))
    with serve(env, "app", workers=2) as app_port, serve(env, "pos", workers=2) as pos_port:
        with (
            Tills(pos_port, key, threads=2) as tills,
            Drop(app_port, template_id, drop_members, lasting=seconds * 1.5 + 3) as drop,
        ):
            time.sleep(min(seconds / 3, 3))
            sold_before = len(tills.successes)
            redis_.stop()
            stopped = time.monotonic()
            time.sleep(seconds)
            sold_meanwhile = len(tills.successes) - sold_before
            redis_.start()
            back = time.monotonic()
            time.sleep(min(seconds / 2, 5))
            tills.stopping.set()
        till_result, drop_result = tills.outcome(url), drop.outcome(url, stock)
    print(
        f"  Redis stopped {back - stopped:.1f} s: tills sold {sold_meanwhile} orders meanwhile; {drop_result['claim_retries']} claims answered 'try again' and retried"
    )
    return {
        **till_result,
        "tills_sold_meanwhile": sold_meanwhile,
        **drop_result,
        "lost": till_result["lost"] + drop_result["claims_lost"],
        "doubled": till_result["doubled"] + drop_result["claims_doubled"],
        "recover_s": latest(drop.recovered_after(back), tills.recovered_after(back)),
        "ledger_ok": ledger_ok(env),
    }


def postgres_restart(pg: Postgres, redis_: Redis, seconds: float, brand_url: str, key: str) -> dict:
    url = new_database(pg.url, brand_url.rsplit("/", 1)[1])
    env = run_env(url, redis_)
    with serve(env, "pos", workers=2) as port, Tills(port, key) as tills:
        time.sleep(min(seconds / 3, 3))
        pg.stop("fast")
        down = time.monotonic()
        time.sleep(seconds)
        pg.start()
        back = time.monotonic()
        time.sleep(min(seconds / 2, 5))
        tills.stopping.set()
    result = tills.outcome(url)
    print(
        f"  PostgreSQL down {back - down:.1f} s: {result['errors_meanwhile']} answers 'try again' or broken connections, retried"
    )
    return {
        **result,
        "oversold": 0,
        "recover_s": tills.recovered_after(back),
        "ledger_ok": ledger_ok(env),
    }


SMS_TIMEOUT = 2  # the provider scenario's SMS_TIMEOUT_SECONDS


def sms_settings(endpoint: str) -> dict:
    """Tencent Cloud SMS at `endpoint`, a local stand-in."""
    return {
        "SMS_BACKEND": "apps.core.sms.TencentSmsBackend",
        "TENCENT_SMS_ENDPOINT": endpoint,
        "TENCENTCLOUD_SECRET_ID": "AKIDfaults",
        "TENCENTCLOUD_SECRET_KEY": "faults",
        "TENCENT_SMS_APP_ID": "1400000000",
        "SMS_SIGN_NAME": "会籍",
        "SMS_TEMPLATE_ID": "1",
        "SMS_TEMPLATE_PARAMS": "code,minutes",
        "SMS_TILL_TEMPLATE_ID": "3",
        "SMS_TIMEOUT_SECONDS": str(SMS_TIMEOUT),
        "THROTTLE_SMS_IP": "1000000/min",
    }


SMS_OK = json.dumps(
    {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "bench"}], "RequestId": "bench"}}
).encode()
OUTBOX_QUEUE = """
from apps.marketing.models import MessageTemplate
from apps.marketing.outbox import messages_queue
from apps.members.models import Member
template = MessageTemplate.objects.create(name="faults", channel="sms", purpose="transactional", sms_template_id="2", title="发货", body="您的订单已发货")
ids = list(Member.objects.filter(status="active").exclude(phone="").order_by("pk").values_list("pk", flat=True)[:20])
messages_queue(template=template, member_ids=ids, cause_kind="faults", cause_id=1)
print(len(ids))
"""
OUTBOX_SEND = "from apps.marketing.outbox import messages_send_due; print(messages_send_due())"


class SignIns(Threads):
    """Members asking for a sign-in code, each for a number of their own, one after another
    until stopped; each answer's status, code and seconds kept."""

    def __init__(self, port: int, threads: int = 2):
        self.port = port
        self.answers: list[tuple[float, int, str, float]] = []  # (asked at, status, code, s)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.workers = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def _run(self, n: int) -> None:
        conn, asked = Connection(self.port), 0
        while not self.stopping.is_set():
            asked += 1
            body = json.dumps({"phone": f"1{n + 35}{asked:08d}"}).encode()
            headers = {"Content-Type": "application/json", "Accept-Language": "en"}
            started = time.monotonic()
            try:
                status, answer = conn.request("POST", "/api/v1/auth/sms-code", headers, body)
                code = json.loads(answer).get("code", "") if status != 200 else ""
            except (OSError, ValueError):
                conn.close()
                status, code = 0, "broken"
            with self.lock:
                self.answers.append((started, status, code, time.monotonic() - started))
            time.sleep(0.2)
        conn.close()

    def between(self, start: float, end: float) -> list[tuple[float, int, str, float]]:
        with self.lock:
            return [a for a in self.answers if start <= a[0] < end]


def provider(pg: Postgres, redis_: Redis, seconds: float, brand_url: str, key: str) -> dict:
    from tests.fake_http import Answer, fake_server

    mode, sent_ok, stalled = {"now": "up"}, [], []

    def answer(request):
        if mode["now"] == "stall":  # the request went, no answer comes: it may have gone
            stalled.append(json.loads(request.body))
            return Answer(200, b"{}", delay=600)
        if mode["now"] == "fail":
            return Answer(500, b"<html>busy</html>")
        sent_ok.append(json.loads(request.body))
        return Answer(200, SMS_OK)

    url = new_database(pg.url, brand_url.rsplit("/", 1)[1])
    with fake_server(answer) as sms:
        env = run_env(
            url,
            redis_,
            **sms_settings(sms.url),
            MESSAGE_RETRY_SECONDS="1",
        )
        queued = int(manage(env, "shell", "-c", OUTBOX_QUEUE).stdout.split()[-1])
        with (
            serve(env, "app", workers=2) as app_port,
            serve(env, "pos", workers=2) as pos_port,
            Tills(pos_port, key, threads=2) as tills,
            SignIns(app_port) as sign_ins,
        ):
            time.sleep(min(seconds / 3, 2))
            sold_before = len(tills.successes)
            mode["now"], down = "stall", time.monotonic()
            started = time.monotonic()
            manage(env, "shell", "-c", OUTBOX_SEND)  # the outbox's run while it stalls
            outbox_run_s = round(time.monotonic() - started, 2)
            time.sleep(max(seconds / 2 - outbox_run_s, 0))
            mode["now"] = "fail"
            time.sleep(seconds / 2)
            mode["now"], back = "up", time.monotonic()
            sold_meanwhile = len(tills.successes) - sold_before
            time.sleep(1.5)  # MESSAGE_RETRY_SECONDS past
            for _ in range(5):
                manage(env, "shell", "-c", OUTBOX_SEND)
                time.sleep(1)
            time.sleep(1)
            tills.stopping.set()
        till_result = tills.outcome(url)
    during = sign_ins.between(down, back - SMS_TIMEOUT)
    after = [a for a in sign_ins.between(back, float("inf")) if a[1] == 200]
    with psycopg.connect(url) as conn:
        codes_kept = conn.execute("SELECT count(*) FROM members_smscode").fetchone()[0]
        outbox = dict(
            conn.execute(
                "SELECT status, count(*) FROM marketing_message WHERE cause_kind = 'faults' GROUP BY status"
            ).fetchall()
        )
    texts = [body["PhoneNumberSet"][0] for body in sent_ok if body["TemplateId"] == "2"]
    codes_sent = sum(1 for body in sent_ok if body["TemplateId"] == "1")
    # texts the provider had and never answered may have gone: such a code is kept and
    # counted, such a message failed as interrupted; neither is lost, nor sent again
    codes_stalled = sum(1 for body in stalled if body["TemplateId"] == "1")
    texts_stalled = sum(1 for body in stalled if body["TemplateId"] == "2")
    interrupted = outbox.get("failed", 0)
    signed_ok = sum(1 for a in sign_ins.answers if a[1] == 200)
    print(
        f"  SMS provider down {back - down:.1f} s (stalling, then 500): {len(during)} sign-in codes asked, "
        f"{sum(a[2] == 'sms_unavailable' for a in during)} answered 503 sms_unavailable, the slowest in "
        f"{max((a[3] for a in during), default=0):.2f} s (timeout {SMS_TIMEOUT} s); tills sold {sold_meanwhile} "
        f"meanwhile; the outbox's run while it stalled took {outbox_run_s} s for {queued} messages"
    )
    return {
        **till_result,
        "tills_sold_meanwhile": sold_meanwhile,
        "codes_asked_meanwhile": len(during),
        "codes_503": sum(a[2] == "sms_unavailable" for a in during),
        "codes_slowest_s": round(max((a[3] for a in during), default=0), 2),
        "codes_held_past_timeout": sum(a[3] > SMS_TIMEOUT + 1 for a in during),
        "codes_kept_unsent": codes_kept - codes_sent,
        "codes_stalled": codes_stalled,
        "outbox_run_while_stalled_s": outbox_run_s,
        "messages_queued": queued,
        "messages_sent": outbox.get("sent", 0),
        "messages_stalled": texts_stalled,
        "messages_interrupted": interrupted,
        "lost": till_result["lost"]
        + queued
        - len(set(texts))
        - interrupted
        + max(codes_kept - codes_stalled - signed_ok, 0),
        "doubled": till_result["doubled"] + len(texts) - len(set(texts)),
        "oversold": 0,
        "recover_s": round(min(a[0] for a in after) - back, 2) if after else None,
        "ledger_ok": ledger_ok(env),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="a few seconds per fault (CI)")
    parser.add_argument("--seconds", type=float, help="each fault's length (default 30, --short 4)")
    parser.add_argument(
        "--members", type=int, help="nightly members (default 200,000, --short 30,000)"
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    args = parser.parse_args(argv)
    seconds = args.seconds or (4 if args.short else 30)
    members = args.members or (30_000 if args.short else 200_000)
    chosen = [name for name in args.only.split(",") if name]
    results = {}
    pg, redis_ = Postgres(), Redis()
    try:
        pg.start()
        redis_.start()
        print(
            f"faults: PostgreSQL of its own on :{pg.port}, Redis on :{redis_.port}, {seconds:g} s a fault"
        )
        brand_url, key = (
            brand(pg.url, redis_, members=400 if args.short else 2000)
            if set(chosen) - {"worker_kill"}
            else ("", "")
        )
        for name in chosen:
            print(f"{name}:")
            if name == "worker_kill":
                result = worker_kill(pg, redis_, seconds, members)
            elif name == "redis_stop":
                result = redis_stop(
                    pg, redis_, seconds, brand_url, key, 400 if args.short else 2000
                )
            else:
                result = globals()[name](pg, redis_, seconds, brand_url, key)
            results[name] = result
            print("  " + "  ".join(f"{k} {v}" for k, v in result.items()))
    finally:
        redis_.stop()
        pg.remove()
    summary = {
        "bench": "faults",
        **results,
        "lost": sum(r["lost"] for r in results.values()),
        "doubled": sum(r["doubled"] for r in results.values()),
        "oversold": sum(r["oversold"] for r in results.values()),
        "recover_s_max": max((r["recover_s"] or 0) for r in results.values()) if results else 0,
        "ledger_ok": all(r["ledger_ok"] for r in results.values()),
        "recovered": all(r["recover_s"] is not None for r in results.values()),
    }
    print("RESULT " + json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
