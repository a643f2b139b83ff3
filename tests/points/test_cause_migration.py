"""The migrations that turned the ledgers' cause strings into (kind, id): every string the
writers used maps to its kind and id, and an order's or a refund's entry drops its key."""

import importlib

import pytest

points = importlib.import_module("apps.points.migrations.0012_entry_causes")
tiers = importlib.import_module("apps.tiers.migrations.0006_growth_causes")


@pytest.mark.parametrize(
    "kind, key, cause, expected",
    [
        ("earn", "order:12:earn", "order:S001-20261203-0001", ("order", 12, None)),
        ("redeem", "order:12:points", "order:S001-20261203-0001", ("order", 12, None)),
        ("reverse", "order:12:points-back", "order:S001-20261203-0001", ("order", 12, None)),
        ("reverse", "refund:7:earn", "order:S001-20261203-0001", ("refund", 7, None)),
        ("reverse", "refund:7:points", "order:S001-20261203-0001", ("refund", 7, None)),
        (
            "reverse",
            "refund:7:first-purchase:order:12:rule3",
            "event:first_purchase",
            ("refund", 7, None),
        ),
        (
            "earn",
            "first-purchase:order:12:rule3",
            "event:first_purchase",
            ("first_purchase", 12, "first-purchase:order:12:rule3"),
        ),
        ("earn", "join:5:rule1", "event:join", ("join", 5, "join:5:rule1")),
        (
            "earn",
            "profile:5:rule2",
            "event:profile_complete",
            ("profile_complete", 5, "profile:5:rule2"),
        ),
        ("adjust", "import:3:5", "import:3", ("import", 3, "import:3:5")),
        ("merge", "merge:88", "member:6", ("merge", 6, "merge:88")),
        (
            "exchange",
            "coupon-exchange:1:5:k",
            "coupon:ABC123",
            ("coupon", 41, "coupon-exchange:1:5:k"),
        ),
        ("adjust", "form-key", "admin", ("admin", None, "form-key")),
        ("reverse", "void-key", "order:S001-20261203-0001", ("admin", None, "void-key")),
        ("settle", "settle:ab12:5", "points", ("maturity", None, "settle:ab12:5")),
        ("expire", "expire:ab12:5", "points", ("expiry", None, "expire:ab12:5")),
        ("adjust", "demo:welcome:1", "demo", ("demo", None, "demo:welcome:1")),
        (
            "exchange",
            "coupon-exchange:1:5:z",
            "coupon:GONE",
            ("admin", None, "coupon-exchange:1:5:z"),
        ),
    ],
)
def test_points_causes_map_to_kind_and_id(kind, key, cause, expected):
    assert points.cause_of(kind, key, cause, {"ABC123": 41}) == expected


@pytest.mark.parametrize(
    "key, cause, expected",
    [
        ("order:12:growth", "order:S001-20261203-0001", ("order", 12, None)),
        ("refund:7:growth", "order:S001-20261203-0001", ("refund", 7, None)),
        ("join:5", "member:5", ("join", 5, "join:5")),
        ("profile:5", "member:5", ("profile_complete", 5, "profile:5")),
        ("demo:growth:1", "demo", ("demo", None, "demo:growth:1")),
    ],
)
def test_growth_causes_map_to_kind_and_id(key, cause, expected):
    assert tiers.cause_of(key, cause) == expected
