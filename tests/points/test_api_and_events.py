"""Points as the member and the POS see them, and what other apps' events do to them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.members.models import Member
from apps.members.services import member_merge
from apps.points.models import Entry
from apps.points.selectors import points_available
from apps.points.services import points_earn, points_redeem
from apps.points.verification import ledger_problems
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory, pos_key_for

pytestmark = pytest.mark.django_db


def earn(member, amount, key, **options):
    return points_earn(
        member=member,
        amount=amount,
        key=key,
        cause_kind="admin",
        description="订单 S001-20261122-0042 消费得积分",
        **options,
    )


def test_me_shows_available_pending_and_what_expires_soon(api_client, settings):
    settings.POINTS_EXPIRY = "months:1"
    member = MemberFactory()
    earn(member, 300, "a", pending=False, now=timezone.now() - timedelta(days=10))
    earn(member, 120, "b", pending=True)

    points = member_client(api_client, member).get("/api/v1/me").json()["points"]

    assert points["available"] == 300 and points["pending"] == 120
    assert [row["amount"] for row in points["expiring"]] == [300]


def test_points_history_is_signed_paginated_and_flat_in_queries(
    api_client, django_assert_max_num_queries
):
    member = MemberFactory()
    for n in range(30):
        earn(member, 10, f"e{n}", pending=False)
    points_redeem(member=member, amount=50, key="r", cause_kind="admin", description="积分抵现")
    client = member_client(api_client, member)

    with django_assert_max_num_queries(4):
        first = client.get("/api/v1/me/points")
    with django_assert_max_num_queries(4):
        client.get("/api/v1/me/points?page_size=100")

    body = first.json()
    assert body["count"] == 31 and len(body["results"]) == 20
    assert body["results"][0] == {
        "id": body["results"][0]["id"],
        "created_at": body["results"][0]["created_at"],
        "amount": -50,
        "kind": "redeem",
        "description": "积分抵现",
    }
    assert body["results"][1]["amount"] == 10


def test_pos_identify_shows_available_points(api_client):
    member = MemberFactory(phone="13912345678")
    earn(member, 5000, "a", pending=False)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {pos_key_for(StoreFactory())}")

    response = api_client.post(
        "/api/pos/v1/members/identify", {"phone": "13912345678"}, format="json"
    )

    assert response.json()["points_available"] == 5000


def test_merging_members_moves_points_and_lots(django_capture_on_commit_callbacks):
    survivor, merged = MemberFactory(), MemberFactory()
    earn(survivor, 100, "s", pending=False)
    earn(merged, 250, "m", pending=False)
    earn(merged, 40, "p", pending=True)

    with django_capture_on_commit_callbacks(execute=True):
        member_merge(survivor=survivor, merged=merged, actor=None, reason="同一人")

    assert points_available(survivor) == 350
    assert points_available(merged) == 0
    assert survivor.points_lots.count() == 3
    assert Entry.objects.get(kind=Entry.Kind.MERGE).amount == 250
    assert ledger_problems() == {}
    assert Member.objects.get(pk=merged.pk).status == Member.Status.MERGED


def test_imported_points_are_credited_once(django_capture_on_commit_callbacks):
    from apps.core.events import event_dispatch
    from apps.core.models import Event
    from apps.members.imports import member_import_check, member_import_run, member_import_upload

    content = "手机号,姓名,积分\n13900000001,林晓,300\n13900000002,王芳,0\n".encode()
    upload = member_import_upload(file_name="yz.csv", content=content, platform="youzan")
    checked = member_import_check(import_id=upload.pk)
    with django_capture_on_commit_callbacks(execute=True):
        member_import_run(import_id=checked.pk)
    event = Event.objects.get(name="members_imported")
    Event.objects.filter(pk=event.pk).update(status=Event.Status.PENDING)  # dispatched again
    event_dispatch(event_id=event.pk)

    assert points_available(Member.objects.get(phone="13900000001")) == 300
    assert Entry.objects.filter(cause_kind="import", cause_id=checked.pk).count() == 1
    assert ledger_problems() == {}
