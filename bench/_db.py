"""A fresh PostgreSQL database for one benchmark run, dropped afterwards."""

import contextlib
import os
import uuid

import psycopg

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def fresh_database():
    name = f"huiji_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_django(database_url: str) -> None:
    """Set Django up on `database_url` with the production settings (DEBUG off)."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        SECRET_KEY="bench-only",
        DEBUG="false",
        DEMO_DATA_ALLOWED="true",  # a throwaway database
    )
    import django

    django.setup()


def flush_broker(url: str) -> None:
    """Drop the task messages a benchmark's events left on its own Redis database."""
    import redis

    redis.Redis.from_url(url).flushdb()
