import random

from apps.core.codes import READABLE_ALPHABET, readable_code


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
