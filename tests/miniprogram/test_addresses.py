"""A member's address book (`me/addresses`): their own only, one default, used by delivered
online orders, in their data export and erased with their account."""

import pytest

from apps.members.models import Address
from apps.members.services import member_delete
from tests.members.factories import MemberFactory, member_client

pytestmark = pytest.mark.django_db

HOME = {
    "name": "林小姐",
    "phone": "+86 139-0013-9000",
    "region": "浙江省 / 杭州市",
    "detail": "文三路 1 号",
}


@pytest.fixture
def member():
    return MemberFactory()


@pytest.fixture
def app(api_client, member):
    return member_client(api_client, member)


def test_the_first_address_is_the_default_and_a_new_default_replaces_it(app):
    first = app.post("/api/v1/me/addresses", HOME, format="json")
    assert first.status_code == 201, first.json()
    assert first.json() | {"id": 0} == {
        "id": 0,
        "name": "林小姐",
        "phone": "13900139000",
        "region": "浙江省/杭州市",
        "detail": "文三路 1 号",
        "is_default": True,
    }
    office = app.post(
        "/api/v1/me/addresses", {**HOME, "detail": "办公室", "is_default": True}, format="json"
    ).json()

    listed = app.get("/api/v1/me/addresses").json()

    assert [(a["detail"], a["is_default"]) for a in listed] == [
        ("办公室", True),
        ("文三路 1 号", False),
    ]
    changed = app.patch(
        f"/api/v1/me/addresses/{office['id']}", {"detail": "新办公室"}, format="json"
    )
    assert changed.json()["detail"] == "新办公室" and changed.json()["is_default"] is True
    assert app.delete(f"/api/v1/me/addresses/{office['id']}").status_code == 204
    assert [(a["detail"], a["is_default"]) for a in app.get("/api/v1/me/addresses").json()] == [
        ("文三路 1 号", True)
    ]


def test_a_landline_or_a_missing_field_is_refused(app):
    landline = app.post("/api/v1/me/addresses", {**HOME, "phone": "010 6552 9988"}, format="json")
    missing = app.post("/api/v1/me/addresses", {"name": "林"}, format="json")

    assert (landline.status_code, landline.json()["code"]) == (400, "invalid")
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid")
    assert not Address.objects.exists()


def test_a_member_never_sees_or_changes_another_members_address(app, api_client):
    theirs = Address.objects.create(
        member=MemberFactory(), name="王", phone="13800138000", region="上海市", detail="x"
    )

    assert (
        app.patch(f"/api/v1/me/addresses/{theirs.pk}", {"detail": "y"}, format="json").status_code
        == 404
    )
    assert app.delete(f"/api/v1/me/addresses/{theirs.pk}").status_code == 404
    assert app.get("/api/v1/me/addresses").json() == []
    theirs.refresh_from_db()
    assert theirs.detail == "x"


def test_addresses_need_a_signed_in_member(api_client):
    assert api_client.get("/api/v1/me/addresses").status_code == 401


def test_the_address_book_is_in_the_export_and_erased_with_the_account(app, member):
    app.post("/api/v1/me/addresses", HOME, format="json")

    exported = app.get("/api/v1/me/export").json()["addresses"]
    assert exported == [
        {
            "name": "林小姐",
            "phone": "13900139000",
            "region": "浙江省/杭州市",
            "detail": "文三路 1 号",
            "default": True,
        }
    ]

    member_delete(member=member)

    assert not Address.objects.filter(member=member).exists()
