"""The app pool yields the CPU to the tills' pool (config/granian_app.py)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from config.granian_app import arguments

REPORT = """
import os
from config.granian_app import lower_cpu_priority
lower_cpu_priority({nice})
path = "/proc/self/autogroup"
group = open(path).read().split()[-1] if os.path.exists(path) else "none"
print(os.getpriority(os.PRIO_PROCESS, 0), group)
"""


def priority_in_own_session(nice: int) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-c", REPORT.format(nice=nice)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        start_new_session=True,
    )
    process, group = result.stdout.split()
    return int(process), group


def test_the_app_pool_runs_below_the_tills_by_default(monkeypatch):
    monkeypatch.delenv("HUIJI_APP_NICE", raising=False)
    assert arguments([]).nice == 10
    monkeypatch.setenv("HUIJI_APP_NICE", "0")
    assert arguments([]).nice == 0


def test_lowering_the_priority_lowers_the_process_and_its_session():
    process, group = priority_in_own_session(7)

    assert process == os.getpriority(os.PRIO_PROCESS, 0) + 7
    if group == "none":
        pytest.skip("no autogroups on this kernel")
    assert group == "7"


def test_nice_zero_changes_nothing():
    process, group = priority_in_own_session(0)

    assert process == os.getpriority(os.PRIO_PROCESS, 0)
    assert group in ("0", "none")
