"""bench.faults, short: the till faults against Huiji as deployed, on a PostgreSQL cluster and
a Redis of the run's own (the shared ones are never stopped). The worker and Redis
scenarios take longer than CI should wait: `python -m bench.faults --short` runs them."""

import json
import shutil
import subprocess
import sys
from glob import glob

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(
    not glob("/usr/lib/postgresql/*/bin/initdb") or not shutil.which("redis-server"),
    reason="needs PostgreSQL's server programs and redis-server on this machine",
)

FAULTS = [sys.executable, "-m", "bench.faults"]


def test_till_orders_survive_killed_web_processes_and_a_postgres_restart():
    done = subprocess.run(
        [*FAULTS, "--short", "--seconds", "2", "--only", "web_kill,postgres_restart"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1].removeprefix("RESULT "))
    assert (result["lost"], result["doubled"], result["oversold"]) == (0, 0, 0)
    assert result["ledger_ok"] and result["recovered"]
    for scenario in ("web_kill", "postgres_restart"):
        assert result[scenario]["accepted"] > 0
        assert result[scenario]["half_written"] == 0
