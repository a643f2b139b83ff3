"""Reference data: the shared cache, and what each process holds for a second."""

import pytest
from django.core.cache import cache
from django.db import transaction

from apps.core import reference
from apps.core.reference import held, held_forget, reference_forget, reference_get


def counting(value):
    loads = []

    def load():
        loads.append(1)
        return value if value is None else [value, len(loads)]

    return load, loads


def test_a_held_value_is_read_once_a_second_and_shared():
    load, loads = counting("tiers")

    first, second = held("k", load), held("k", load)

    assert first is second and len(loads) == 1


def test_a_held_value_is_read_again_once_its_second_is_over(monkeypatch):
    load, loads = counting("tiers")
    monkeypatch.setattr(reference, "HELD_SECONDS", 0)

    assert held("k", load) != held("k", load)
    assert len(loads) == 2


def test_nothing_found_is_not_held():
    load, loads = counting(None)

    assert held("k", load) is None and held("k", load) is None
    assert len(loads) == 2


def test_a_forgotten_value_is_read_again_here():
    load, _loads = counting("rules")
    held("k", load)

    held_forget("k")

    assert held("k", load) == ["rules", 2]


@pytest.mark.django_db(transaction=True)
def test_reference_data_forgotten_by_the_console_is_read_afresh_after_the_commit():
    load, _loads = counting("rules")
    reference_get("rules", load)

    with transaction.atomic():
        reference_forget("rules")
        assert reference_get("rules", load) == ["rules", 1]  # until the change commits
    assert cache.get("reference:rules") is None

    assert reference_get("rules", load) == ["rules", 2]
