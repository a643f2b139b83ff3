"""bench.campaign at a small size: Huiji's run and the hand-written SQL leave the same
coupons, messages and grants to the same members, and the checks hold (what the full run
compares at a million members)."""

import psycopg
import pytest
from django.db import connection

from apps.marketing import outbox
from apps.points.models import Account
from apps.points.services import system_account
from bench import campaign as bench
from bench._db import copy_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_huiji_and_the_hand_sql_give_the_same_members_the_same_things(monkeypatch):
    # tasks run at once in tests: the messages would be sent, where the bench only queues them
    monkeypatch.setattr(outbox, "_send_soon", lambda: None)
    system_account(Account.Kind.ISSUANCE)
    members = 2500  # the audience spans two chunks
    params = bench.configure(members)
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    with psycopg.connect(url, autocommit=True) as conn:
        bench.run_script(conn, bench.GENERATE, {**params, "members": members})
    connection.close()  # the copy is made from a database nobody is connected to
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        # sessions earlier tests' threads left open (a live server's, say) would stop it
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (settings["NAME"],),
        )
    with copy_of(url) as copy, psycopg.connect(copy) as conn:
        bench.baseline_run(conn, params)
        by_hand, hand_checks = bench.outcome(conn, params)

    huiji = bench.huiji_run(params["campaign"])

    with psycopg.connect(url) as conn:
        outcome, checks = bench.outcome(conn, params)
    assert outcome == by_hand
    assert outcome["coupons"] > 0 and outcome["messages"]["refused no_consent"] > 0
    assert not any(checks.values()) and not any(hand_checks.values())
    assert huiji["rerun_did_nothing"]
