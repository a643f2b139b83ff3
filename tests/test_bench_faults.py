"""bench.faults: the pieces each run (a PostgreSQL cluster and a Redis of the run's own,
stopped and started again without touching the shared ones), and, with HUIJI_BENCH_FAULTS=1,
in CI (CI=true) or with HUIJI_BENCH_FAULTS=1, every scenario end to end, short (4 to 8
minutes, by how busy the machine is). `python -m bench.faults` runs the full one."""

import json
import os
import shutil
import subprocess
import sys
from glob import glob

import psycopg
import pytest
import redis
from django.conf import settings

from bench.faults import Postgres, Redis, latest

pytestmark = pytest.mark.skipif(
    not glob("/usr/lib/postgresql/*/bin/initdb") or not shutil.which("redis-server"),
    reason="needs PostgreSQL's server programs and redis-server on this machine",
)


def test_its_own_postgres_stops_and_starts_again():
    pg = Postgres()
    try:
        pg.start()
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        pg.stop()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg.url, connect_timeout=2)
        pg.start()
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pg.remove()
    assert not os.path.exists(pg.dir)


def test_its_own_redis_stops_and_starts_again():
    server = Redis()
    try:
        server.start()
        client = redis.Redis.from_url(server.url(0))
        assert client.ping()
        server.stop()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        server.start()
        assert client.ping()  # the same client connects again
    finally:
        server.stop()


def test_recovered_when_all_have():
    assert latest(0.2, 1.5) == 1.5
    assert latest(0.2, None) is None


FAULTS = [sys.executable, "-m", "bench.faults"]


@pytest.mark.skipif(
    not (os.environ.get("HUIJI_BENCH_FAULTS") or os.environ.get("CI")),
    reason="CI, or HUIJI_BENCH_FAULTS=1, runs it (4 to 8 minutes)",
)
def test_every_fault_short_loses_doubles_and_oversells_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "bench.faults", "--short", "--seconds", "2"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1].removeprefix("RESULT "))
    assert (result["lost"], result["doubled"], result["oversold"]) == (0, 0, 0)
    assert result["ledger_ok"] and result["recovered"]
    for scenario in ("worker_kill", "web_kill", "redis_stop", "postgres_restart", "provider"):
        assert result[scenario]["accepted"] > 0
    for scenario in ("web_kill", "postgres_restart", "provider"):
        assert result[scenario]["half_written"] == 0
    assert result["redis_stop"]["claim_retries"] > 0  # the drop went on through the fault
    jobs = result["worker_kill"]  # each killed mid-way, then finished by a new worker
    assert jobs["batch_issued"] == jobs["batch_targeted"] > jobs["batch_issued_before_kill"] > 0
    assert jobs["import_status"] == "done" and jobs["import_chunks_before_kill"] > 0
    assert jobs["rollup_rerun_differs"] == 0
    assert jobs["campaign_reached"] == jobs["campaign_audience"] > 0
    assert jobs["outbox_sent"] == jobs["outbox_queued"] > 0
    assert jobs["tiers_changed"] == jobs["tiers_dropping"] > jobs["tiers_changed_before_kill"] > 0
    provider = result["provider"]
    assert provider["codes_503"] == provider["codes_asked_meanwhile"] > 0
    assert provider["codes_held_past_timeout"] == 0
    # a code the stalled provider had may have gone: kept; one it failed: not (review h27)
    assert provider["codes_kept_unsent"] == provider["codes_stalled"]
    assert provider["tills_sold_meanwhile"] > 0
    # a text the stalled provider had may have gone: failed as interrupted, never sent again
    assert provider["messages_interrupted"] == provider["messages_stalled"] > 0
    assert (
        provider["messages_sent"] + provider["messages_interrupted"] == provider["messages_queued"]
    )
