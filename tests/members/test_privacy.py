"""PIPL: a member downloads their data and closes their account."""

import pytest

from apps.core.models import AuditEntry, Event
from apps.members.models import Member, MemberIdentity, StoreVisit
from apps.members.services import member_identity_link, member_join_or_find
from tests.members.factories import MemberFactory, member_client
from tests.stores.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_export_contains_my_data_and_nobody_elses(api_client):
    store = StoreFactory(name="上海恒隆店")
    me = MemberFactory(phone="13912345678", name="林晓", home_store=store)
    other = MemberFactory(phone="13700000001", name="王芳", home_store=store)
    member_identity_link(member=me, kind="wechat_openid", value="openid-me")
    member_identity_link(member=other, kind="wechat_openid", value="openid-other")
    StoreVisit.objects.create(member=me, store=store)
    StoreVisit.objects.create(member=other, store=store)

    response = member_client(api_client, me).get("/api/v1/me/export")

    assert response.status_code == 200
    data = response.json()
    assert data["member"]["phone"] == "13912345678" and data["member"]["name"] == "林晓"
    assert data["identities"] == [
        {
            "channel": "wechat_openid",
            "id": "openid-me",
            "linked_at": data["identities"][0]["linked_at"],
        }
    ]
    assert len(data["store_visits"]) == 1
    text = response.content.decode()
    assert "13700000001" not in text and "王芳" not in text and "openid-other" not in text


def test_deleting_the_account_erases_personal_data_and_keeps_history(
    api_client, django_capture_on_commit_callbacks
):
    store = StoreFactory()
    me = MemberFactory(phone="13912345678", name="林晓", birthday="1990-01-01", home_store=store)
    member_identity_link(member=me, kind="wechat_openid", value="openid-me")
    StoreVisit.objects.create(member=me, store=store)
    client = member_client(api_client, me)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/v1/me")

    assert response.status_code == 204
    me.refresh_from_db()
    assert (me.phone, me.name, me.birthday, me.status) == (None, "", None, Member.Status.DELETED)
    assert not MemberIdentity.objects.filter(member=me).exists()
    assert StoreVisit.objects.filter(member=me).count() == 1  # history keeps its shape
    assert client.get("/api/v1/me").status_code == 401  # the session ended with the account
    assert AuditEntry.objects.filter(action="member.delete", target_id=str(me.pk)).exists()
    assert Event.objects.filter(name="member_deleted").count() == 1


def test_the_phone_can_join_again_as_a_new_member_after_deletion(api_client):
    me = MemberFactory(phone="13800000000")
    member_client(api_client, me).delete("/api/v1/me")

    member, created = member_join_or_find(phone="13800000000", source="miniprogram")

    assert created and member.pk != me.pk
