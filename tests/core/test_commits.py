"""A transaction whose commit does not wait for the disk (apps/core/commits.py)."""

import pytest
from django.db import connection, connections, transaction

from apps.core.commits import committed_without_waiting

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "numbering"])


def synchronous_commit(using: str) -> str:
    with connections[using].cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_only_its_own_transaction_commits_without_waiting_and_what_it_wrote_is_committed():
    with committed_without_waiting("numbering") as cursor:
        inside = synchronous_commit("numbering")
        cursor.execute("CREATE TABLE commits_probe (n int)")
        cursor.execute("INSERT INTO commits_probe VALUES (7)")

    try:
        assert (inside, synchronous_commit("numbering")) == ("off", "on")
        with connection.cursor() as cursor:  # another connection sees it: committed
            cursor.execute("SELECT n FROM commits_probe")
            assert cursor.fetchall() == [(7,)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE commits_probe")


def test_inside_a_transaction_on_the_same_database_it_refuses():
    with (
        transaction.atomic(using="numbering"),
        pytest.raises(RuntimeError),
        committed_without_waiting("numbering"),
    ):
        pass

    assert synchronous_commit("numbering") == "on"
