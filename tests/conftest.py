import threading

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import translation
from rest_framework.test import APIClient

from apps.core.reference import held_clear
from tests.core.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # throttling counters live in the cache
    held_clear()
    yield
    cache.clear()
    held_clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def hq_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def hq_client(client, hq_user):
    client.force_login(hq_user)
    return client


def run_together(target, count: int, *args) -> list:
    """Run `target(*args)` in `count` threads released at once by a barrier; their results.

    Each thread has its own database connection, as separate requests would; use it in
    tests marked django_db(transaction=True) so that the threads see committed rows.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def work(index):
        try:
            barrier.wait(timeout=10)
            results[index] = target(*args)
        except Exception as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()  # the numbering one too, where a sale used it

    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def in_thread(work) -> threading.Thread:
    """`work()` started in a thread of its own, with its own database connections (closed
    when it ends), as another request would run it."""

    def run():
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language, as a worker's task does: a request an earlier
    test sent in another language (its Accept-Language) leaves that language active on the
    thread."""
    translation.activate(settings.LANGUAGE_CODE)
