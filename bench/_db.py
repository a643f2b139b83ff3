"""A fresh PostgreSQL database for one benchmark run, dropped afterwards, and the environment
Huiji runs in on it as deployed."""

import contextlib
import os
import uuid

import psycopg

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
CACHE = os.environ.get("BENCH_CACHE", "redis://127.0.0.1:6379/13")
BROKER = os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/14")


@contextlib.contextmanager
def fresh_database():
    """A new database, and an empty cache: the new rows' ids are the last run's again."""
    redis_empty(CACHE)
    with _database("") as url:
        yield url


@contextlib.contextmanager
def copy_of(database_url: str):
    """A copy of that database (while nobody is connected to it), so that Huiji and the
    baseline each start from the same rows."""
    with _database(f' TEMPLATE "{database_url.rsplit("/", 1)[1]}"') as url:
        yield url


@contextlib.contextmanager
def _database(options: str):
    name = f"huiji_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{options}')
    try:
        yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def deployed_env(database_url: str, **settings: str) -> dict:
    """The environment of Huiji as deployed (production settings, DEBUG off, Redis as the
    cache) on `database_url`, as a staging site (HUIJI_SANDBOX), with `settings` added."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-only",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": CACHE,
        # Stand-ins (sandbox payments, console SMS, fake WeChat login) and plain HTTP
        # straight to the pool, with no proxy in front.
        "HUIJI_SANDBOX": "1",
        "SECURE_SSL_REDIRECT": "false",
        **settings,
    }


def use_django(database_url: str, **settings: str) -> None:
    """Set Django up in this process on `database_url`, as deployed (deployed_env)."""
    # DEMO_DATA_ALLOWED: the database is a throwaway
    os.environ.update(deployed_env(database_url, DEMO_DATA_ALLOWED="true", **settings))
    import django

    django.setup()


def redis_empty(url: str) -> None:
    """Empty a benchmark's own Redis database (its cache, or the task messages its events
    left on a broker)."""
    import redis

    redis.Redis.from_url(url).flushdb()


def sizes_result(bench: str, results: list[dict]) -> dict:
    """The RESULT of a run over N members and, with --double, over 2N too: N's figures, and
    how much longer 2N took and its ratio. Prints the doubling's line."""
    result = {"bench": bench, **results[0]}
    if len(results) > 1:
        result["double_members_time_ratio"] = round(
            results[1]["huiji_s"] / results[0]["huiji_s"], 2
        )
        result["double_ratio"] = results[1]["ratio"]
        print(f"twice the members took {result['double_members_time_ratio']:.2f}× the time")
    return result
