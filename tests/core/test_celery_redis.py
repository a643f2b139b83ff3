"""Celery end to end: a real worker process, a real Redis broker, the test database."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.events import event_emit
from apps.core.models import Event, IdempotencyKey
from apps.core.tasks import idempotency_keys_purge_task
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_url():
    url = settings.TEST_REDIS_URL
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not answering at {url}; start it (bin/services) and run again.")
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def worker(redis_url):
    """A Celery worker on the test database, and this process sending to it through Redis."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TEST_CELERY_BROKER_URL": redis_url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=redis_url, task_always_eager=False)
    # Drop the producers pooled for the in-memory broker, as Celery does in a forked child.
    celery_app._after_fork()
    try:
        yield process
    finally:
        celery_app.conf.update(saved)
        celery_app._after_fork()
        process.terminate()
        process.wait(timeout=20)


def wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_event_emitted_in_a_transaction_is_handled_by_the_worker(worker):
    from apps.points.models import EarningRule
    from apps.points.selectors import points_available
    from tests.members.factories import MemberFactory

    EarningRule.objects.create(name="开卡礼积分", kind="bonus", event="join", points=100)
    member = MemberFactory()
    with transaction.atomic():
        event = event_emit(name="member_joined", payload={"member": member.pk})

    assert wait_for(lambda: Event.objects.get(pk=event.pk).status == Event.Status.DONE)
    assert points_available(member) == 100  # the points app's handler ran in the worker
    assert worker.poll() is None


def test_scheduled_task_runs_in_the_worker(worker):
    old = timezone.now() - timedelta(days=settings.IDEMPOTENCY_KEY_TTL_DAYS + 1)
    IdempotencyKey.objects.create(scope="store:1", key="old", fingerprint="f", created_at=old)
    IdempotencyKey.objects.create(scope="store:1", key="fresh", fingerprint="f")

    idempotency_keys_purge_task.delay()

    assert wait_for(lambda: not IdempotencyKey.objects.filter(key="old").exists())
    assert IdempotencyKey.objects.filter(key="fresh").exists()
