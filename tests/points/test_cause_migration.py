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


once_points = importlib.import_module("apps.points.migrations.0013_once_causes")
once_growth = importlib.import_module("apps.tiers.migrations.0007_once_causes")


@pytest.mark.parametrize(
    "cause_kind, key, member_id, expected",
    [
        ("join", "join:5:rule1", 5, {"rule_id": 1, "idempotency_key": None}),
        ("profile_complete", "profile:5:rule2", 5, {"rule_id": 2, "idempotency_key": None}),
        (
            "first_purchase",
            "first-purchase:order:12:rule3",
            5,
            {"rule_id": 3, "idempotency_key": None},
        ),
        ("join", "join:5:rule9", 5, {}),  # the rule is gone: the key stays
        ("import", "import:3:5", 5, {"idempotency_key": None}),
        ("merge", "merge:88", 5, {"idempotency_key": None}),
        ("maturity", "settle:ab12:5", 5, {"batch": "settle:ab12", "idempotency_key": None}),
        ("expiry", "expire:ab12cd:5", 5, {"batch": "expire:ab12cd", "idempotency_key": None}),
        ("expiry", None, 5, {"batch": None}),
        ("demo", "demo:welcome:13800000000", 5, {"cause_id": 5, "idempotency_key": None}),
        ("demo", "demo:history:13800000001", 6, {"cause_id": 6, "idempotency_key": None}),
        ("demo", "0f3a9c", 6, {}),
        ("admin", "form-key", 5, {}),
        ("admin", None, 5, {}),
        ("coupon", "coupon-exchange:1:5:k", 5, {}),
        ("order", None, 5, {}),
    ],
)
def test_points_keys_of_causes_that_write_once_become_typed(cause_kind, key, member_id, expected):
    assert once_points.typed(cause_kind, key, member_id, {1, 2, 3}) == expected


@pytest.mark.parametrize(
    "cause_kind, key, expected",
    [
        ("join", "join:5", {"key": None}),
        ("profile_complete", "profile:5", {"key": None}),
        ("demo", "demo:growth:13800000000", {"cause_id": 7, "key": None}),
        ("admin", "form-key", {}),
        ("order", None, {}),
    ],
)
def test_growth_keys_of_causes_that_give_once_become_typed(cause_kind, key, expected):
    assert once_growth.typed(cause_kind, key, 7) == expected


@pytest.mark.django_db(transaction=True)
def test_the_keys_become_rules_batches_and_members_and_come_back():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from apps.points.models import Entry, JobBatch
    from apps.tiers.models import GrowthEntry
    from tests.members.factories import MemberFactory

    after = [("points", "0013_once_causes"), ("tiers", "0007_once_causes")]
    before = [("points", "0012_entry_causes"), ("tiers", "0006_growth_causes")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        OldEntry = old.get_model("points", "Entry")
        OldGrowth = old.get_model("tiers", "GrowthEntry")
        Account, Rule = old.get_model("points", "Account"), old.get_model("points", "EarningRule")
        member, other = MemberFactory(phone="13800000000"), MemberFactory(phone="13900000001")
        issuance, _made = Account.objects.get_or_create(kind="issuance")
        account = Account.objects.create(kind="member", member_id=member.pk, balance=0)
        rule = Rule.objects.create(name="开卡礼", kind="bonus", event="join", points=100)

        def entry(key, cause_kind, cause_id=None, kind="earn", who=member):
            OldEntry.objects.create(
                kind=kind,
                from_account_id=issuance.pk,
                to_account_id=account.pk,
                amount=1,
                member_id=who.pk,
                idempotency_key=key,
                cause_kind=cause_kind,
                cause_id=cause_id,
                description=key,
            )

        entry(f"join:{member.pk}:rule{rule.pk}", "join", member.pk)
        entry(f"join:{member.pk}:rule{rule.pk + 1}", "join", member.pk)  # its rule is gone
        entry(f"import:3:{member.pk}", "import", 3, kind="adjust")
        entry("settle:ab12:1", "maturity", kind="settle")
        entry("settle:ab12:2", "maturity", kind="settle", who=other)
        entry("expire:cd34:1", "expiry", kind="expire")
        entry("demo:welcome:13800000000", "demo", kind="adjust")
        entry("demo:history:13900000001", "demo", kind="adjust", who=other)
        entry("form-key", "admin", kind="adjust")
        for key, cause_kind in ((f"join:{member.pk}", "join"), ("demo:growth:13800000000", "demo")):
            OldGrowth.objects.create(
                member_id=member.pk,
                kind="action",
                amount=10,
                key=key,
                cause_kind=cause_kind,
                cause_id=member.pk if cause_kind == "join" else None,
                description=key,
            )

        MigrationExecutor(connection).migrate(after)

        batches = dict(JobBatch.objects.values_list("pk", "kind"))
        typed = {
            e.description: (e.cause_kind, e.cause_id, e.rule_id, e.idempotency_key)
            for e in Entry.objects.all()
        }
        settled = typed["settle:ab12:1"][1]
        assert sorted(batches.values()) == ["expiry", "maturity"]
        assert typed == {
            f"join:{member.pk}:rule{rule.pk}": ("join", member.pk, rule.pk, None),
            f"join:{member.pk}:rule{rule.pk + 1}": (
                "join",
                member.pk,
                None,
                f"join:{member.pk}:rule{rule.pk + 1}",
            ),
            f"import:3:{member.pk}": ("import", 3, None, None),
            "settle:ab12:1": ("maturity", settled, None, None),
            "settle:ab12:2": ("maturity", settled, None, None),
            "expire:cd34:1": ("expiry", typed["expire:cd34:1"][1], None, None),
            "demo:welcome:13800000000": ("demo", member.pk, None, None),
            "demo:history:13900000001": ("demo", other.pk, None, None),
            "form-key": ("admin", None, None, "form-key"),
        }
        assert batches[settled] == "maturity" and batches[typed["expire:cd34:1"][1]] == "expiry"
        assert sorted(GrowthEntry.objects.values_list("cause_kind", "cause_id", "key")) == [
            ("demo", member.pk, None),
            ("join", member.pk, None),
        ]

        MigrationExecutor(connection).migrate(before)  # and back: the keys as they were written

        keys = dict(OldEntry.objects.values_list("description", "idempotency_key"))
        jobs = ("settle", "expire")
        assert {d: k for d, k in keys.items() if not d.startswith(jobs)} == {
            d: d for d in keys if not d.startswith(jobs)
        }
        expired = typed["expire:cd34:1"][1]
        assert [keys["settle:ab12:1"], keys["settle:ab12:2"], keys["expire:cd34:1"]] == [
            f"settle:batch{settled}:{member.pk}",
            f"settle:batch{settled}:{other.pk}",
            f"expire:batch{expired}:{member.pk}",
        ]
        assert sorted(OldGrowth.objects.values_list("key", flat=True)) == sorted(
            [f"join:{member.pk}", "demo:growth:13800000000"]
        )
    finally:
        executor = MigrationExecutor(connection)  # every app's latest: mall's depend on tiers'
        executor.migrate(executor.loader.graph.leaf_nodes())
