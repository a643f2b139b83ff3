import random

from apps.core.codes import READABLE_ALPHABET, minute_prefixed_code, readable_code


def test_codes_use_every_readable_letter_in_every_place_and_do_not_repeat():
    codes = [readable_code(16) for _ in range(3000)]

    assert all(len(code) == 16 and set(code) <= set(READABLE_ALPHABET) for code in codes)
    for place in (0, 7, 15):
        assert {code[place] for code in codes} == set(READABLE_ALPHABET)
    assert len(set(codes)) == len(codes)


def test_a_seeded_choice_makes_the_same_codes_again():
    first = [readable_code(8, random.Random(7).choice) for _ in range(3)]

    assert first == [readable_code(8, random.Random(7).choice) for _ in range(3)]
    assert set(first[0]) <= set(READABLE_ALPHABET)


def test_minute_prefixed_codes_sort_by_their_minute_and_are_random_after_it():
    noon = 1_796_385_600.0  # 2026-12-04 12:00 UTC
    this_minute = [minute_prefixed_code(16, noon + s) for s in range(0, 60, 2) for _ in range(100)]
    next_minute = minute_prefixed_code(16, noon + 60)
    next_year = minute_prefixed_code(16, noon + 365 * 86400)

    assert all(len(code) == 16 and set(code) <= set(READABLE_ALPHABET) for code in this_minute)
    assert len({code[:5] for code in this_minute}) == 1
    assert next_minute[:5] != this_minute[0][:5]
    assert max(this_minute) < next_minute < next_year
    assert len(set(this_minute)) == len(this_minute)
    assert {code[5] for code in this_minute} == set(READABLE_ALPHABET)
