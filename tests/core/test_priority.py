"""The tills' pool comes first on the CPU and the app pool last (config/priority.py,
config/gunicorn_pos.py, config/granian_app.py)."""

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from celery import signals
from django.conf import settings

from config import celery as celery_config
from config import granian_app

REPORT = """
import os
from config.priority import cpu_priority_change
allowed = cpu_priority_change({steps})
path = "/proc/self/autogroup"
group = open(path).read().split()[-1] if os.path.exists(path) else "none"
print(allowed, os.getpriority(os.PRIO_PROCESS, 0), group)
"""


def change_in_own_session(steps: int) -> tuple[bool, int, str]:
    result = subprocess.run(
        [sys.executable, "-c", REPORT.format(steps=steps)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        start_new_session=True,
    )
    allowed, process, group = result.stdout.split()
    return allowed == "True", int(process), group


def test_lowering_the_priority_lowers_the_process_and_its_session():
    allowed, process, group = change_in_own_session(7)

    assert allowed
    assert process == os.getpriority(os.PRIO_PROCESS, 0) + 7
    if group == "none":
        pytest.skip("no autogroups on this kernel")
    assert group == "7"


def test_raising_it_needs_the_right_to_and_says_so_without():
    allowed, process, group = change_in_own_session(-5)

    if os.geteuid() != 0:
        assert not allowed and process == os.getpriority(os.PRIO_PROCESS, 0)
        return
    assert allowed and process == os.getpriority(os.PRIO_PROCESS, 0) - 5
    assert group in ("-5", "none")


def test_zero_changes_nothing():
    allowed, process, group = change_in_own_session(0)

    assert allowed and process == os.getpriority(os.PRIO_PROCESS, 0)
    assert group in ("0", "none")


@pytest.mark.parametrize(("setting", "steps"), [(None, 10), ("0", 0), ("15", 15)])
def test_the_app_pool_lowers_itself_before_it_starts_serving(monkeypatch, setting, steps):
    happened = []
    monkeypatch.setattr(granian_app, "refuse_unsafe_start", lambda: None)
    monkeypatch.setattr(granian_app, "cpu_priority_change", lambda s: happened.append(s) or True)
    monkeypatch.setattr(
        granian_app, "server", lambda *a: SimpleNamespace(serve=lambda: happened.append("serve"))
    )
    if setting is None:
        monkeypatch.delenv("HUIJI_APP_PRIORITY", raising=False)
    else:
        monkeypatch.setenv("HUIJI_APP_PRIORITY", setting)

    granian_app.main([])

    assert happened == [steps, "serve"]


@pytest.mark.parametrize(("setting", "steps"), [(None, 10), ("0", 0), ("15", 15)])
def test_a_worker_lowers_itself_before_it_starts_its_processes(monkeypatch, setting, steps):
    happened = []
    monkeypatch.setattr(celery_config, "cpu_priority_change", lambda s: happened.append(s) or True)
    if setting is None:
        monkeypatch.delenv("HUIJI_WORKER_PRIORITY", raising=False)
    else:
        monkeypatch.setenv("HUIJI_WORKER_PRIORITY", setting)

    celery_config._lower_priority()

    assert happened == [steps]
    assert celery_config._lower_priority in [ref() for _key, ref in signals.worker_init.receivers]
